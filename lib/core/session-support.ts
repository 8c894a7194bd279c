/**
 * What a `Session` needs of the lease client, and taking leases for a session: in batches, each
 * take resent with its nonce while its outcome is unknown and recognised by it afterwards, so a
 * take that landed unseen never leaves a lease owned by nobody's knowledge.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { sleep, type Clock } from './clock.js';
import { backoffMs } from './backoff.js';
import { LeaseStoreError } from './errors.js';
import type { Lease, LeaseRuntime } from './lease.js';
import type { WaitingAcquireOptions } from './lease-client.js';
import type { LeaseRecord, SessionOwner } from './lease-record.js';
import { OwnedLease } from './owned-lease.js';
import { MAX_TRANSACTION_ITEMS, type OwnedLeaseStore, type TakeItem, type TakeRequest } from './owned-lease-store.js';
import { isRetryable } from './store-errors.js';
import { withDeadline } from './deadline.js';

/**
 * The key of a lease client's method returning its {@link SessionSupport}. `Symbol.for` and
 * versioned, as the standby slots' key is.
 *
 * @internal
 */
export const SESSION_SUPPORT: unique symbol = Symbol.for('leasehold.sessionSupport/1');

/** What a lease client offers its sessions. @internal */
export interface SessionSupport {
  readonly runtime: SessionRuntime;
  /** Checks that the table exists and has the session index (`verifyLeaseTable` with `sessions: true`). */
  verifyTable(): Promise<void>;
  /** Acquires a session lease, waiting up to `waitMs`: a lease that is in `group`'s session index while held. */
  acquireSession(name: string, options: WaitingAcquireOptions, group: string): Promise<Lease>;
}

/** The lease client's runtime, with what sessions add to it. @internal */
export interface SessionRuntime extends LeaseRuntime {
  readonly owned: OwnedLeaseStore;
  /** The wall-clock skew allowance, in ms: a session is dead to others once past `expiresAt + skewMs`. */
  readonly skewMs: number;
  /** The holder id every lease the client's sessions take carries. */
  readonly holderId: string;
}

/** The session support `leases` offers, or `undefined` when it offers none. @internal */
export function sessionSupportOf(leases: object): SessionSupport | undefined {
  const offer: unknown = (leases as { [SESSION_SUPPORT]?: unknown })[SESSION_SUPPORT];
  return typeof offer === 'function' ? (offer.call(leases) as SessionSupport) : undefined;
}

/** What a take of many leases for one session came to. */
export interface TakeResult {
  /** The leases now held through the session. */
  readonly taken: OwnedLease[];
  /** Leases that were not free, or not owned by the dead session they were asked from: with the item that stopped it, if known. */
  readonly refused: Map<string, LeaseRecord | undefined>;
  /** Owner sessions that were not dead after all. */
  readonly aliveOwners: Set<string>;
}

/** How many times one batch is sent while its outcome is unknown or it meets conflicts or throttling. */
const TAKE_ATTEMPTS = 5;

/**
 * Takes `items` for `session`, in as few requests as DynamoDB allows (one conditional write for a
 * single free lease, else transactions of up to 100 items). A batch refused for some of its items
 * takes none of them, so it is sent again without those. Stops, taking nothing more, once the
 * session is no longer held.
 */
export async function takeForSession(
  runtime: SessionRuntime,
  session: Lease,
  items: readonly TakeItem[],
  data?: Record<string, unknown>,
): Promise<TakeResult> {
  const result: TakeResult = { taken: [], refused: new Map(), aliveOwners: new Set() };
  let pending = [...items];
  while (pending.length > 0 && session.isHeld) {
    const batch = nextBatch(pending);
    pending = pending.slice(batch.length);
    let remaining = batch.filter((item) => !(item.from && result.aliveOwners.has(item.from.session)));
    while (remaining.length > 0 && session.isHeld) {
      const owner: SessionOwner & { holderId: string } = { session: session.name, generation: session.fencingToken, holderId: runtime.holderId };
      const outcome = await sendTake(runtime, { owner, items: remaining, nonce: randomUUID(), wallNow: 0, staleBefore: 0, data });
      if (outcome.kind === 'taken') {
        result.taken.push(...outcome.records.map((record) => new OwnedLease(runtime, session, record)));
        break;
      }
      for (const [name, current] of outcome.refused) result.refused.set(name, current);
      for (const alive of outcome.aliveOwners) result.aliveOwners.add(alive);
      const before = remaining.length;
      remaining = remaining.filter((item) => !outcome.refused.has(item.name) && !(item.from && outcome.aliveOwners.has(item.from.session)));
      if (remaining.length === before) break;
    }
  }
  return result;
}

/** The longest prefix of `items` that fits one transaction with a check per distinct owner session. */
function nextBatch(items: readonly TakeItem[]): TakeItem[] {
  const owners = new Set<string>();
  const batch: TakeItem[] = [];
  for (const item of items) {
    const newOwner = item.from !== undefined && !owners.has(item.from.session);
    if (batch.length + 1 + owners.size + (newOwner ? 1 : 0) > MAX_TRANSACTION_ITEMS) break;
    if (item.from) owners.add(item.from.session);
    batch.push(item);
  }
  return batch;
}

type SendOutcome =
  | { readonly kind: 'taken'; readonly records: LeaseRecord[] }
  | { readonly kind: 'refused'; readonly refused: ReadonlyMap<string, LeaseRecord | undefined>; readonly aliveOwners: ReadonlySet<string> };

/**
 * One take, resent with the same nonce (and, for a transaction, the same idempotency token) while
 * its outcome is unknown; the table, read consistently, is the witness of a take that landed.
 */
async function sendTake(runtime: SessionRuntime, template: TakeRequest): Promise<SendOutcome> {
  const { owned, clock, requestTimeoutMs, skewMs } = runtime;
  const wallNow = clock.wallNow();
  // The same request on every send: a transaction's resend must match its first send exactly.
  const request: TakeRequest = { ...template, wallNow, staleBefore: wallNow - skewMs };
  const names = request.items.map((item) => item.name);
  let mayHaveLanded = false;
  let lastError: LeaseStoreError | undefined;
  for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(clock, backoffMs(attempt - 1, clock));
    try {
      const outcome = await withDeadline(clock, requestTimeoutMs, undefined, (signal) => owned.take(request, signal));
      if (outcome.landed) return { kind: 'taken', records: outcome.record ? [outcome.record] : await takenRecords(runtime, names, request.nonce) };
      // Refused by an earlier send of this same take, which landed (all of it: it is one transaction).
      if ([...outcome.refused.values()].some((current) => current?.revision === request.nonce)) {
        return { kind: 'taken', records: await takenRecords(runtime, names, request.nonce) };
      }
      // A backend that returns no item with a refusal (dynalite): after a send that may have
      // landed, the table is read to tell this take's own earlier send from another holder.
      if (mayHaveLanded && [...outcome.refused.values()].includes(undefined)) {
        const records = await takenRecords(runtime, names, request.nonce);
        if (records.length > 0) return { kind: 'taken', records };
      }
      return { kind: 'refused', refused: outcome.refused, aliveOwners: outcome.aliveOwners };
    } catch (error) {
      if (!isRetryable(error)) throw error;
      mayHaveLanded ||= error.outcomeUnknown;
      lastError = error;
    }
  }
  if (mayHaveLanded) {
    const records = await takenRecords(runtime, names, request.nonce).catch(() => undefined);
    if (records === undefined) {
      throw new LeaseStoreError(
        `Could not take ${names.length} lease(s) for session "${request.owner.session}", nor learn whether the take landed; ` +
          `any that did are freed when the session ends. ${lastError?.message}`,
        names[0],
        { outcomeUnknown: true, cause: lastError, retryable: true },
      );
    }
    if (records.length > 0) return { kind: 'taken', records };
  }
  throw lastError ?? new LeaseStoreError('take failed', names[0], { outcomeUnknown: false });
}

/** The items of `names` that show the take that stored `nonce`, by consistent reads. */
async function takenRecords(runtime: SessionRuntime, names: readonly string[], nonce: string): Promise<LeaseRecord[]> {
  const { owned, clock, requestTimeoutMs } = runtime;
  const stored = await owned.readMany(names, (send) => withDeadline(clock, requestTimeoutMs, undefined, send));
  return names.flatMap((name) => {
    const record = stored.get(name);
    return record?.revision === nonce ? [record] : [];
  });
}

/**
 * Whether a session item shows its session dead to a contender with `clock` and `skewMs`: gone,
 * released, in another generation than `generation`, or past its expiry and the skew allowance.
 * The same rule the take's check applies in the table.
 */
export function sessionIsDead(record: LeaseRecord | undefined, generation: number, clock: Clock, skewMs: number): boolean {
  return (
    record === undefined ||
    record.state === 'released' ||
    record.fencingToken !== generation ||
    record.expiresAt < clock.wallNow() - skewMs
  );
}
