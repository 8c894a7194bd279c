/**
 * Watching who leads without campaigning: dashboards, routers that send work to the leader.
 *
 * @module
 */
import { sleep } from '../core/clock.js';
import type { LeaseClient } from '../core/lease-client.js';
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
 * when the current lease can first expire.
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
  while (!options.signal?.aborted) {
    const { lease, takeableInMs } = await leases.peek(name);
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
    try {
      await sleep(leases.clock, wait, options.signal);
    } catch {
      return;
    }
  }
}
