/**
 * Every request leasehold sends has a deadline. The SDK's DynamoDB client has none by default
 * (and a 300 s socket-inactivity timeout), so a connection a NAT or load balancer dropped in
 * silence would hold a renewal, a release or a campaign for minutes. An aborted request's socket
 * is destroyed, not reused, and its outcome is unknown: callers reconcile as for a lost answer.
 *
 * @module
 */
import { setMaxListeners } from 'node:events';
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
 * Runs `send` with a signal that aborts at most `ms` after now on `clock`, and no sooner than
 * fifteen sixteenths of it, or as soon as `outer` aborts, whichever comes first.
 */
export async function withDeadline<T>(
  clock: Clock,
  ms: number,
  outer: AbortSignal | undefined,
  send: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (!outer) return send(sharedDeadline(clock, ms));
  const controller = new AbortController();
  const timer = clock.setTimer(() => controller.abort(deadlinePassed(ms)), ms, { background: true });
  const abortWithOuter = () => controller.abort(outer.reason);
  if (outer.aborted) abortWithOuter();
  outer.addEventListener('abort', abortWithOuter, { once: true });
  try {
    return await send(controller.signal);
  } finally {
    timer.cancel();
    outer.removeEventListener('abort', abortWithOuter);
  }
}

/** Signals shared by requests (see {@link sharedDeadline}), per clock, by timeout and end. */
const sharedSignals = new WeakMap<Clock, Map<string, AbortSignal>>();
const DEADLINE_SLICES = 16;

/**
 * A signal per sixteenth of a timeout, shared by every request given that timeout whose deadline
 * falls in it: an AbortController and a timer for each request were a measured share of a lease
 * pair's client CPU. A deadline is rounded down to its slice, so never later than asked.
 */
function sharedDeadline(clock: Clock, ms: number): AbortSignal {
  let signals = sharedSignals.get(clock);
  if (!signals) sharedSignals.set(clock, (signals = new Map()));
  const slice = ms / DEADLINE_SLICES;
  const now = clock.monotonicNow();
  const end = Math.floor((now + ms) / slice) * slice;
  const key = `${ms}@${end}`;
  const shared = signals.get(key);
  if (shared) return shared;
  const controller = new AbortController();
  // Each request in flight on it is one listener (the SDK's): many at once is by design.
  setMaxListeners(0, controller.signal);
  signals.set(key, controller.signal);
  clock.setTimer(
    () => {
      signals.delete(key);
      controller.abort(deadlinePassed(ms));
    },
    end - now,
    { background: true },
  );
  return controller.signal;
}

function deadlinePassed(ms: number): Error {
  return new Error(`no answer within ${Math.round(ms)} ms`);
}
