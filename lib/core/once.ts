/**
 * At most once per key: a run that finishes records its key done in the same conditional write
 * that releases its lease, so a later acquisition of that lease sees the record and skips.
 *
 * Timeline of one key (one lease name, so its runs take turns):
 *
 *   acquire ── item shows key done? ── yes: release untouched, skip
 *                                   └─ no:  run ── succeeded: release + record key (one write, fenced on the token)
 *                                               └─ threw, lease lost, timed out: no record; the key stays open
 *
 * The record lands only while the run's lease is still held at its token, so a run that overran
 * its lease (someone else may have taken it and run the key too) never claims the key. Records are
 * kept on the lease item itself, never in an item of their own, and each release prunes them to
 * the newest `keep` by fencing token: the item stays bounded and is never deleted, so the fencing
 * token survives.
 *
 * @module
 */
import { checkLeases, type SingletonLeases } from './contracts.js';
import { InvalidArgumentError } from './errors.js';
import type { Lease } from './lease.js';
import type { WaitingAcquireOptions } from './lease-client.js';
import type { DoneRun } from './lease-record.js';
import { checkLeaseName, rejectUnknownKeys } from './validate.js';

/**
 * How many done runs a lease item keeps unless told otherwise: with keys such as ISO dates (about
 * 60 bytes a record), a typical item stays under the 1 KB that one write unit pays for.
 */
export const DEFAULT_KEEP_DONE = 10;

/**
 * The most done runs a lease item may keep. With keys of at most {@link MAX_RUN_KEY_BYTES}, 100
 * records take at most about 29 KB of the item's 400 KB; every write to the item (renewals
 * included) is billed by its size, a write unit per KB, so 100 records with ISO-date keys (6 KB)
 * make each write cost 6 units instead of 1.
 */
export const MAX_KEEP_DONE = 100;

/** The longest run key accepted, in UTF-8 bytes. */
export const MAX_RUN_KEY_BYTES = 255;

/** What {@link runOnce} uses of its lease client: a `LeaseClient`, of this or another installed copy of the package. */
export type RunOnceLeases = Pick<SingletonLeases, 'acquire'>;

/** Options of {@link runOnce}: those of `LeaseClient.acquire`, and how many done runs to keep. */
export interface RunOnceOptions extends WaitingAcquireOptions {
  /**
   * How many done runs the lease item keeps, newest first by fencing token, from 1 to
   * {@link MAX_KEEP_DONE}: a key pruned past it runs again. @default 10
   */
  readonly keep?: number;
}

/** What a {@link runOnce} function is given. */
export interface RunOnceContext {
  /** The lease held for the run: renew it at checkpoints of a long one. */
  readonly lease: Lease;
  /** Pass it to every resource the run changes, so a stale run's writes are refused. */
  readonly fencingToken: number;
  /** Aborts the moment the run's lease may no longer be held: hand it to every request you start. */
  readonly signal: AbortSignal;
}

/** What {@link runOnce} did: ran the function, or found the key already done. */
export type RunOnceResult<T> =
  | {
      /** This call ran the function, and recorded the key done. */
      readonly ran: true;
      /** What the function returned. */
      readonly value: T;
    }
  | {
      /** The key was already done: the function did not run. */
      readonly ran: false;
      /** The fencing token of the run that did it. */
      readonly fencingToken: number;
      /** When that run was recorded done, on its holder's wall clock (epoch ms). */
      readonly doneAt: number;
    };

const OPTIONS = ['leaseMs', 'data', 'waitMs', 'pollMs', 'signal', 'keep'] as const;

/**
 * Runs `fn` at most once for `key` under the lease `name`: acquires the lease (waiting as
 * `LeaseClient.acquire` does), skips if the lease item shows `key` done, else runs `fn` and
 * releases the lease recording `key` done in the same conditional write. A run that throws
 * releases the lease without the record, so a later call runs again; its error is rethrown.
 *
 * Throws `LeaseLostError` (nothing recorded: a later call runs again) if the lease was taken
 * before the run finished, and `LeaseStoreError` if the record could not be written; a record
 * whose answer was lost is recognised by its fencing token, on a resend or by a consistent read.
 */
export async function runOnce<T>(
  leases: RunOnceLeases,
  name: string,
  key: string,
  fn: (run: RunOnceContext) => T | Promise<T>,
  options: RunOnceOptions,
): Promise<RunOnceResult<T>> {
  checkLeases(leases, 'RunOnceLeases', { acquire: 'function' });
  checkLeaseName(name);
  checkRunKey('key', key);
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'must be a function');
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, OPTIONS);
  const { keep = DEFAULT_KEEP_DONE, ...acquire } = options;
  checkKeep('options.keep', keep);
  const lease = await leases.acquire(name, acquire);
  const done = lease.doneRun(key);
  if (done) {
    // Skipped either way: a release that fails only leaves the lease to lapse.
    await lease.release().catch(() => {});
    return { ran: false, fencingToken: done.fencingToken, doneAt: done.doneAt };
  }
  let value: T;
  try {
    value = await fn({ lease, fencingToken: lease.fencingToken, signal: lease.signal });
  } catch (error) {
    // The run's own error is what the caller must see; a failed release leaves the lease to lapse.
    await lease.release().catch(() => {});
    throw error;
  }
  await lease.releaseDone(key, { keep });
  return { ran: true, value };
}

/** A run key: a non-empty string of at most {@link MAX_RUN_KEY_BYTES} UTF-8 bytes. */
export function checkRunKey(argument: string, key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidArgumentError(argument, 'must be a string');
  if (key.length === 0) throw new InvalidArgumentError(argument, 'must not be empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_RUN_KEY_BYTES) throw new InvalidArgumentError(argument, `must be at most ${MAX_RUN_KEY_BYTES} UTF-8 bytes, got ${bytes}`);
}

/** How many done runs to keep: a whole number from 1 to {@link MAX_KEEP_DONE}. */
export function checkKeep(argument: string, keep: unknown): asserts keep is number {
  if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 1 || keep > MAX_KEEP_DONE) {
    throw new InvalidArgumentError(argument, `must be a whole number from 1 to ${MAX_KEEP_DONE}`);
  }
}

/**
 * The done runs to store with `run`: `run` itself and the newest `keep - 1` of `previous` by
 * fencing token. Tokens order runs exactly (runs under one name take turns, each with a larger
 * token), where the holders' wall clocks might not; and `run` holds the lease, so its token is
 * the largest and it is always kept.
 */
export function keptDoneRuns(previous: readonly DoneRun[], run: DoneRun, keep: number): Record<string, { fencingToken: number; doneAt: number }> {
  const kept = previous
    .filter((done) => done.key !== run.key)
    .sort((a, b) => b.fencingToken - a.fencingToken)
    .slice(0, keep - 1);
  return Object.fromEntries([run, ...kept].map(({ key, fencingToken, doneAt }) => [key, { fencingToken, doneAt }]));
}
