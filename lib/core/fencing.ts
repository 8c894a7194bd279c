/**
 * Making other writes safe against stale leaders: inside DynamoDB with a transaction that checks
 * the lease, elsewhere with the fencing token the resource remembers.
 *
 * @module
 */
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { sleep, type Clock } from './clock.js';
import { backoffMs } from './backoff.js';
import { withDeadline } from './deadline.js';
import { InvalidArgumentError, TransactionConflictError } from './errors.js';
import type { LeaseStore } from './lease-store.js';
import { rejectUnknownKeys } from './validate.js';
import type { Lease } from './lease.js';
import type { OwnedLease } from './owned-lease.js';

/** Write items in `@aws-sdk/lib-dynamodb` form (native JS values), as `TransactWriteCommand` takes them. */
export type FencedItems = NonNullable<TransactWriteCommandInput['TransactItems']>;

/**
 * Sends `items` in one `TransactWriteItems` together with a `ConditionCheck` on the lease item
 * (holder, fencing token, state held), so they land only while `lease` is still held. Works the
 * same on a lease held through a `Session`. Throws
 * {@link FencedWriteRejectedError} when it is not (and nothing is written), or
 * {@link LeaseLostError} without sending anything once the lease's own deadline has passed. A
 * send that goes unanswered past `requestTimeoutMs`, or that `options.signal` (the lease's own
 * signal by default) aborts, throws a {@link LeaseStoreError} with `outcomeUnknown`.
 * Needs transactions: DynamoDB has them; dynalite does not.
 */
export async function fencedWrite(lease: Lease | OwnedLease, items: FencedItems, options: FencedWriteOptions = {}): Promise<void> {
  if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError('items', 'must be a non-empty array');
  if (items.length > 99) throw new InvalidArgumentError('items', 'at most 99 fit beside the lease check (DynamoDB allows 100)');
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, ['signal']);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new InvalidArgumentError('options.signal', 'must be an AbortSignal');
  await lease.writeFenced(items, options.signal ?? lease.signal);
}

/** Options of {@link fencedWrite}. */
export interface FencedWriteOptions {
  /**
   * Aborts the write (its outcome is then unknown: make the items idempotent). Each send is also
   * bounded by the lease client's `requestTimeoutMs`. @default the lease's own signal
   */
  readonly signal?: AbortSignal;
}

/** A condition for a resource that keeps the highest fencing token it has accepted. */
export interface FencingCondition {
  /** The write's condition. It contains an `OR`: put it in parentheses before adding your own with `AND`. */
  readonly ConditionExpression: string;
  /** `#fence`, the attribute that remembers the token: merge into the write's own names. */
  readonly ExpressionAttributeNames: Record<string, string>;
  /** `:fence`, the writer's fencing token: merge into the write's own values. */
  readonly ExpressionAttributeValues: Record<string, number>;
  /** Add this to the update's `SET` clause so the resource remembers the token. */
  readonly setClause: string;
}

/**
 * Builds the condition for writing to an item that remembers the highest fencing token it has
 * accepted in `attribute`: the write lands only if `fencingToken` is at least that high. Equal
 * is allowed so a holder can write more than once; a lower token means a newer holder has
 * written since, and the write is refused.
 *
 *   const fence = fencingCondition(lease.fencingToken);
 *   UpdateExpression: `SET ${fence.setClause}, #balance = :balance`, ...fence (merge names/values)
 */
export function fencingCondition(fencingToken: number, options: { attribute?: string } = {}): FencingCondition {
  if (!Number.isSafeInteger(fencingToken) || fencingToken < 1) {
    throw new InvalidArgumentError('fencingToken', 'must be a positive integer');
  }
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, ['attribute']);
  if (options.attribute !== undefined && (typeof options.attribute !== 'string' || options.attribute.length === 0)) {
    throw new InvalidArgumentError('options.attribute', 'must be a non-empty attribute name');
  }
  return {
    ConditionExpression: 'attribute_not_exists(#fence) OR #fence <= :fence',
    ExpressionAttributeNames: { '#fence': options.attribute ?? 'fencingToken' },
    ExpressionAttributeValues: { ':fence': fencingToken },
    setClause: '#fence = :fence',
  };
}

/** How many times a fenced write is sent while it meets transaction conflicts. */
const FENCED_WRITE_ATTEMPTS = 5;

/** The holder whose lease guards a fenced write: a `Lease` or an `OwnedLease`. @internal */
export interface FencingHolder {
  readonly name: string;
  readonly holderId: string;
  readonly fencingToken: number;
  /** Aborts the back-off between sends once the lease may be lost. */
  readonly signal: AbortSignal;
  assertValid(): void;
  remainingMs(): number;
}

/**
 * The send loop of a fenced write, for `Lease` and `OwnedLease` alike: checks the holder still
 * trusts its lease before each send, and resends a write cancelled by a transaction conflict
 * (nothing was written) with back-off, throwing the last {@link TransactionConflictError} if
 * conflicts outlast the attempts. Each send is in `inFlight` while it is out, so the holder's
 * other writes to the lease item can wait for it; `beforeEach` waits for what a send must not
 * overlap (a renewal).
 *
 * @internal
 */
export async function sendFencedWrite(
  runtime: { readonly store: LeaseStore; readonly clock: Clock; readonly requestTimeoutMs: number },
  holder: FencingHolder,
  items: FencedItems,
  signal: AbortSignal,
  inFlight: Set<Promise<unknown>>,
  beforeEach?: () => Promise<void>,
): Promise<void> {
  const { store, clock, requestTimeoutMs } = runtime;
  const lease = { name: holder.name, holderId: holder.holderId, fencingToken: holder.fencingToken };
  for (let attempt = 0; ; attempt++) {
    holder.assertValid();
    if (beforeEach) {
      await beforeEach();
      holder.assertValid();
    }
    const sending = withDeadline(clock, requestTimeoutMs, signal, (deadline) => store.writeFenced(lease, items, deadline));
    inFlight.add(sending);
    try {
      await sending;
      return;
    } catch (error) {
      if (!(error instanceof TransactionConflictError) || attempt + 1 >= FENCED_WRITE_ATTEMPTS) throw error;
    } finally {
      inFlight.delete(sending);
    }
    await sleep(clock, Math.min(backoffMs(attempt, clock), holder.remainingMs()), holder.signal).catch(() => {});
  }
}
