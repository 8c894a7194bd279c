/**
 * Watching who leads without campaigning: dashboards, routers that send work to the leader.
 *
 * @module
 */
import { sleep, type Clock } from '../core/clock.js';
import { backoffMs } from '../core/backoff.js';
import { checkLeases, ELECTION_LEASES, type ElectionLeases, type PeekResult } from '../core/contracts.js';
import { InvalidArgumentError } from '../core/errors.js';
import { isRetryable } from '../core/store-errors.js';
import { checkDurationMs, checkLeaseName, rejectUnknownKeys } from '../core/validate.js';
import type { LeaderInfo } from './leader-elector.js';

/** What {@link observeLeader} uses of its lease client: a part of {@link ElectionLeases}. */
const OBSERVED_LEASES = { holderId: ELECTION_LEASES.holderId, clock: ELECTION_LEASES.clock, peek: ELECTION_LEASES.peek };

/** Options of {@link observeLeader}. */
export interface ObserveLeaderOptions {
  /** The lease client to look with: a `LeaseClient`, or anything with its `holderId`, `clock` and `peek`. */
  readonly leases: Pick<ElectionLeases, 'holderId' | 'clock' | 'peek'>;
  /** The lease name the leader holds. */
  readonly name: string;
  /** Stops the observation; the loop ends without error. */
  readonly signal?: AbortSignal;
  /** The longest wait between looks (eventually consistent reads). @default 1000 */
  readonly pollMs?: number;
}

/**
 * Yields the leader each time it changes (`undefined` while nobody leads), starting with the
 * current one. Read-only: half a read unit per look, one look per `pollMs` at most, and one
 * when the current lease can first expire. Throttling and lost connections do not end it: it
 * looks again with backoff (never waiting longer than `pollMs`) and yields nothing new
 * until a look succeeds. Errors a retry cannot cure (a missing table, denied access) are thrown.
 *
 *   for await (const leader of observeLeader({ leases, name: 'scheduler', signal })) route(leader);
 */
export async function* observeLeader(options: ObserveLeaderOptions): AsyncGenerator<LeaderInfo | undefined> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, ['leases', 'name', 'signal', 'pollMs']);
  const { leases, name } = options;
  checkLeases(leases, 'ElectionLeases (holderId, clock and peek)', OBSERVED_LEASES);
  checkLeaseName(name);
  const pollMs = options.pollMs ?? 1_000;
  checkDurationMs('pollMs', pollMs, { exclusiveMin: true });
  let last: string | undefined;
  for (let failures = 0; !options.signal?.aborted; ) {
    let look: PeekResult;
    try {
      look = await leases.peek(name, options.signal ? { signal: options.signal } : {});
      failures = 0;
    } catch (error) {
      if (options.signal?.aborted) return;
      if (!isRetryable(error)) throw error;
      if (!(await rest(leases.clock, Math.min(backoffMs(failures++, leases.clock), pollMs), options.signal))) return;
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
    const wait = leader ? Math.min(Math.max(takeableInMs, 1), pollMs) : pollMs;
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
