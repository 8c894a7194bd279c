/**
 * The reaper: housekeeping and notification, never correctness. It finds held leases whose
 * `expiresAt + skewMs` has passed through the sparse reaper index (up to a minute late: the index
 * orders leases by the minute they run out, see `ReaperIndex`), marks each expired with a write
 * conditional on the token it read and on the expiry still being past (a renewal that lands first
 * wins), and announces each one. No timers and no Lambda here: the handler in `lambda/` and the demo drive it.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock, type Clock } from '../core/clock.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, withDeadline, type Deadline } from '../core/deadline.js';
import { ownWrite, type IndexedLease } from '../core/lease-record.js';
import { LeaseStore } from '../core/lease-store.js';
import { isRetryable } from '../core/store-errors.js';
import { ReaperIndex } from '../core/schema.js';
import { checkDurationMs, checkTableName, rejectUnknownKeys } from '../core/validate.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { LeaseEventPublisher, LeaseExpiredDetail } from './events.js';

/** Options of {@link reapExpiredLeases}. */
export interface ReapOptions {
  /** The DynamoDB client to send requests with (its region, endpoint and credentials). */
  readonly client: DynamoDBClient;
  /** The lease table, with its reaper index. */
  readonly tableName: string;
  /**
   * Only leases past `expiresAt + skewMs` on this clock are reaped, each found once the minute
   * its expiry fell in has passed too. It decides when a lease is announced, not who may take
   * it: a reaped lease is taken by the same rule as a held one. Use the participants' skew
   * allowance.
   */
  readonly skewMs: number;
  /** Where `Lease Expired` events go. @default none are sent */
  readonly publisher?: LeaseEventPublisher;
  /** Asked before each page and each batch of writes: true stops the run, leaving the rest for the next. */
  readonly shouldStop?: () => boolean;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Index items read per Query. @default 100 */
  readonly pageSize?: number;
  /** Conditional writes in flight at once per shard. @default 10 */
  readonly writesInFlight?: number;
}

/** What one run did. */
export interface ReapSummary {
  /** Expired held leases read from the index. */
  scanned: number;
  /** Marked expired by this run. */
  reaped: number;
  /** Renewed, released or taken between the read and the write: left alone. */
  raced: number;
  /** Writes that were throttled or lost their answer: left for the next run. */
  skipped: number;
  /** Events that could not be published after retries. */
  eventsFailed: number;
  /**
   * The longest a reaped lease had been past its `expiresAt` when marked, ms (0 if none): how
   * long a name went with no live holder and nobody taking over.
   */
  longestLeaderlessMs: number;
  /** Whether `shouldStop` ended the run before the index was exhausted. */
  stoppedEarly: boolean;
}

const OPTIONS = ['client', 'tableName', 'skewMs', 'publisher', 'shouldStop', 'clock', 'pageSize', 'writesInFlight'] as const;

/** Runs the reaper once over every shard of the index, in parallel. */
export async function reapExpiredLeases(options: ReapOptions): Promise<ReapSummary> {
  rejectUnknownKeys('options', options, OPTIONS);
  checkTableName(options.tableName);
  checkDurationMs('skewMs', options.skewMs);
  const pageSize = options.pageSize ?? 100;
  const writesInFlight = options.writesInFlight ?? 10;
  for (const [argument, value] of [['pageSize', pageSize], ['writesInFlight', writesInFlight]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(argument, 'must be a positive integer');
  }
  const clock = options.clock ?? systemClock;
  const shouldStop = options.shouldStop ?? (() => false);
  const store = new LeaseStore(options.client, options.tableName);
  const summary: ReapSummary = { scanned: 0, reaped: 0, raced: 0, skipped: 0, eventsFailed: 0, longestLeaderlessMs: 0, stoppedEarly: false };
  const cutoff = clock.wallNow() - options.skewMs;
  // An index page or a write that goes unanswered must not hold the run until Lambda kills it.
  const deadline: Deadline = (send) => withDeadline(clock, DEFAULT_REQUEST_TIMEOUT_MS, undefined, send);

  const reapShard = async (shard: number) => {
    for await (const page of store.expiredInShard(shard, cutoff, pageSize, deadline)) {
      summary.scanned += page.length;
      const reaped: LeaseExpiredDetail[] = [];
      for (let i = 0; i < page.length; i += writesInFlight) {
        if (shouldStop()) {
          summary.stoppedEarly = true;
          break;
        }
        const batch = page.slice(i, i + writesInFlight);
        const outcomes = await Promise.all(batch.map((lease) => markExpired(store, lease, cutoff, clock, deadline)));
        batch.forEach((lease, j) => {
          const outcome = outcomes[j]!;
          if (outcome === 'skipped') return void summary.skipped++;
          if (outcome === 'raced') return void summary.raced++;
          summary.reaped++;
          summary.longestLeaderlessMs = Math.max(summary.longestLeaderlessMs, clock.wallNow() - outcome.expiredAt);
          reaped.push({ name: lease.name, holderId: lease.holderId, fencingToken: lease.fencingToken, expiredAt: outcome.expiredAt });
        });
      }
      if (reaped.length > 0 && options.publisher) summary.eventsFailed += (await options.publisher.publish(reaped)).failed;
      if (summary.stoppedEarly || shouldStop()) {
        summary.stoppedEarly = true;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: ReaperIndex.shardCount }, (_, shard) => reapShard(shard)));
  return summary;
}

/** Marks one lease expired; when it lands, the `expiresAt` it had (the index does not carry it). */
async function markExpired(
  store: LeaseStore,
  lease: IndexedLease,
  staleBefore: number,
  clock: Clock,
  deadline: Deadline,
): Promise<{ expiredAt: number } | 'raced' | 'skipped'> {
  const nonce = randomUUID();
  try {
    const request = { name: lease.name, fencingToken: lease.fencingToken, staleBefore, nonce, wallNow: clock.wallNow() };
    const outcome = await deadline((signal) => store.markExpired(request, signal));
    // A refusal carrying our nonce is this same write, retried by the SDK after it landed.
    const marked = outcome.landed ? outcome.record : ownWrite(outcome.current, nonce);
    return marked ? { expiredAt: marked.expiresAt } : 'raced';
  } catch (error) {
    if (isRetryable(error)) return 'skipped';
    throw error;
  }
}
