/**
 * Every request leasehold sends has a deadline. The SDK's DynamoDB client has none by default
 * (and a 300 s socket-inactivity timeout), so a connection a NAT or load balancer dropped in
 * silence would hold a renewal, a release or a campaign for minutes. An aborted request's socket
 * is destroyed, not reused, and its outcome is unknown: callers reconcile as for a lost answer.
 *
 * @module
 */
import type { Clock } from './clock.js';

/** Sends one request under a deadline; the store's paginated reads take one per page. */
export type Deadline = <T>(send: (signal: AbortSignal | undefined) => Promise<T>) => Promise<T>;

/** For callers that bound their requests otherwise. */
export const noDeadline: Deadline = (send) => send(undefined);

/** The default for requests that serve no particular lease (reaper, scans). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 2_000;

/** No request is given less than this, however short the lease it serves. */
export const MIN_REQUEST_MS = 250;

/**
 * Runs `send` with a signal that aborts after `ms` on `clock`, or as soon as `outer` aborts,
 * whichever comes first.
 */
export async function withDeadline<T>(
  clock: Clock,
  ms: number,
  outer: AbortSignal | undefined,
  send: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = clock.setTimer(() => controller.abort(new Error(`no answer within ${Math.round(ms)} ms`)), ms, { background: true });
  const abortWithOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) abortWithOuter();
  outer?.addEventListener('abort', abortWithOuter, { once: true });
  try {
    return await send(controller.signal);
  } finally {
    timer.cancel();
    outer?.removeEventListener('abort', abortWithOuter);
  }
}
