/**
 * Watching who leads without campaigning: dashboards, routers that send work to the leader.
 *
 * @module
 */
import { sleep, type Clock } from '../core/clock.js';
import { backoffMs } from '../core/backoff.js';
import type { LeaseClient } from '../core/lease-client.js';
import { isRetryable } from '../core/store-errors.js';
import { checkDurationMs, checkLeaseName, rejectUnknownKeys } from '../core/validate.js';
import type { LeaderInfo } from './leader-elector.js';

/** Options of {@link observeLeader}. */
export interface ObserveLeaderOptions {
  /** Stops the observation; the loop ends without error. */
  readonly signal?: AbortSignal;
  /** The longest wait between looks (eventually consistent reads). @default 1000 */
  readonly intervalMs?: number;
}

/**
 * Yields the leader each time it changes (`undefined` while nobody leads), starting with the
 * current one. Read-only: half a read unit per look, one look per `intervalMs` at most, and one
 * when the current lease can first expire. Throttling and lost connections do not end it: it
 * looks again with backoff (never waiting longer than `intervalMs`) and yields nothing new
 * until a look succeeds. Errors a retry cannot cure (a missing table, denied access) are thrown.
 */
export async function* observeLeader(
  leases: LeaseClient,
  name: string,
  options: ObserveLeaderOptions = {},
): AsyncGenerator<LeaderInfo | undefined> {
  checkLeaseName(name);
  rejectUnknownKeys('options', options, ['signal', 'intervalMs']);
  const intervalMs = options.intervalMs ?? 1_000;
  checkDurationMs('intervalMs', intervalMs, { exclusiveMin: true });
  let last: string | undefined;
  for (let failures = 0; !options.signal?.aborted; ) {
    let look: Awaited<ReturnType<LeaseClient['peek']>>;
    try {
      look = await leases.peek(name, options.signal ? { signal: options.signal } : {});
      failures = 0;
    } catch (error) {
      if (options.signal?.aborted) return;
      if (!isRetryable(error)) throw error;
      if (!(await rest(leases.clock, Math.min(backoffMs(failures++, leases.clock), intervalMs), options.signal))) return;
      continue;
    }
    const { lease, takeableInMs } = look;
    const leader =
      lease?.state === 'held'
        ? { holderId: lease.holderId, fencingToken: lease.fencingToken, isSelf: lease.holderId === leases.holderId }
        : undefined;
    const key = leader ? `${leader.holderId}/${leader.fencingToken}` : '';
    if (key !== last) {
      last = key;
      yield leader;
    }
    const wait = leader ? Math.min(Math.max(takeableInMs, 1), intervalMs) : intervalMs;
    if (!(await rest(leases.clock, wait, options.signal))) return;
  }
}

/** Sleeps `ms`; false if `signal` aborted first. */
async function rest(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(clock, ms, signal);
    return true;
  } catch {
    return false;
  }
}
