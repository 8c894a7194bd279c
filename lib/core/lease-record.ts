/**
 * The shapes of stored lease items (and of a lease as a client describes it), reading one from
 * DynamoDB's native-value form, and recognising one's own write in it.
 *
 * @module
 */
import { LeaseAttribute as A, MAX_STANDBY_SLOTS, standbySlotAttribute, type StoredLeaseState } from './schema.js';

/**
 * A lease as stored, judged by this client's clocks (see `LeaseClient.describe`): the stored
 * item's fields, with `state` reading `expired` once the lease has lapsed by this client's wall
 * clock, before the reaper marks it.
 */
export interface LeaseDescription {
  /** The lease name: the item's partition key. */
  readonly name: string;
  /** The holder, or the last holder once released or expired. */
  readonly holderId: string;
  /** The token of the latest acquisition; kept through release and expiry, so the next one continues from it. */
  readonly fencingToken: number;
  /**
   * `held`, `released` or `expired`. A lease still marked held whose `expiresAt + skewMs` has
   * passed on this client's wall clock is reported `expired` before the reaper marks it.
   */
  readonly state: 'held' | 'released' | 'expired';
  /** The lease duration the holder asked for at its acquisition or latest renewal, in ms. */
  readonly leaseMs: number;
  /** Wall-clock expiry the holder wrote, epoch ms. */
  readonly expiresAt: number;
  /** Wall-clock epoch ms of the acquisition that produced the fencing token. */
  readonly acquiredAt: number;
  /** Wall-clock epoch ms of the last write (renewals included). */
  readonly updatedAt: number;
  /** Changes on every write; an unchanged revision means no renewal happened. */
  readonly revision: string;
  /** The holder's (or last holder's) payload, from its acquisition or a renewal; `undefined` if it gave none. */
  readonly data: Record<string, unknown> | undefined;
  /** Followers registered as standbys (see `LeaderElector`). */
  readonly standbys: readonly StandbySlot[];
  /** Runs recorded done under this name (see `runOnce`), newest first: at most the `keep` its last writer asked for. */
  readonly doneRuns: readonly DoneRun[];
  /**
   * The session that owns the lease, for a lease held through a `Session`; `undefined` otherwise.
   * Such a lease has no expiry of its own (`expiresAt` and `leaseMs` are `NaN`): it is held
   * exactly as long as that session, in that generation, is.
   */
  readonly owner: SessionOwner | undefined;
}

/** The session a lease is held through: its session lease's name and fencing token (its generation). */
export interface SessionOwner {
  /** The session's lease name. */
  readonly session: string;
  /** The session lease's fencing token when it took the lease: a later generation of the same session does not own it. */
  readonly generation: number;
}

/**
 * A lease item as stored, before any client's clock judges it: the fields of a
 * {@link LeaseDescription}, with the stored state.
 */
export interface LeaseRecord extends Omit<LeaseDescription, 'state'> {
  /** As the item says: `expired` only once the reaper has marked it. */
  readonly state: StoredLeaseState;
}

/** A follower registered in a standby slot of a lease, until a wall-clock time. */
export interface StandbySlot {
  /** The slot's number, 0 to `MAX_STANDBY_SLOTS - 1`: it is stored as the attribute `standby<slot>`. */
  readonly slot: number;
  /** The follower's holder id (its `LeaseClient.holderId`). */
  readonly holderId: string;
  /** Wall-clock epoch ms. */
  readonly until: number;
}

/** A run recorded done on a lease item, by the release of the lease it ran under (see `runOnce`). */
export interface DoneRun {
  /** The run's key: its slot (the slot's start as an ISO date, for the singleton's `oncePer.slotMs`) or the caller's key. */
  readonly key: string;
  /** The fencing token of the lease the run finished under: unique to that run, and larger for later runs. */
  readonly fencingToken: number;
  /** When it was recorded done, on the finishing holder's wall clock (epoch ms). */
  readonly doneAt: number;
}

/** What the reaper index holds of a lease: enough to mark it expired and announce it. */
export interface IndexedLease {
  readonly name: string;
  readonly holderId: string;
  readonly fencingToken: number;
}

/** A conditional write either landed (the item after it) or did not (the item that stopped it). */
export type WriteOutcome =
  | { readonly landed: true; readonly record: LeaseRecord }
  | { readonly landed: false; readonly current: LeaseRecord | undefined };

/**
 * `record` if it shows the write that stored `nonce` as its revision, with nothing written since;
 * otherwise `undefined`. Every lease write stores a fresh nonce (standby slots aside, which change
 * neither holder nor state), so this is how a sender recognises its own write after the answer
 * was lost, or after a resend found the first send had already landed: the nonce implies the
 * holder, token and state that write left.
 */
export function ownWrite(record: LeaseRecord | undefined, nonce: string): LeaseRecord | undefined {
  return record?.revision === nonce ? record : undefined;
}

/**
 * Whether the write that stored `nonce` landed: answered as landed, or refused because an
 * earlier send of the same write (the SDK's own resend, or the caller's) had landed already.
 */
export function writeLanded(outcome: WriteOutcome, nonce: string): boolean {
  return outcome.landed || ownWrite(outcome.current, nonce) !== undefined;
}

/** A lease item (native values, as lib-dynamodb reads it) as a record. */
export function toLeaseRecord(item: Record<string, unknown>): LeaseRecord {
  return {
    name: String(item[A.name]),
    holderId: String(item[A.holderId]),
    fencingToken: Number(item[A.fencingToken]),
    leaseMs: Number(item[A.leaseMs]),
    expiresAt: Number(item[A.expiresAt]),
    revision: String(item[A.revision]),
    state: item[A.state] as StoredLeaseState,
    acquiredAt: Number(item[A.acquiredAt]),
    updatedAt: Number(item[A.updatedAt]),
    data: item[A.data] as Record<string, unknown> | undefined,
    standbys: standbysOf(item),
    doneRuns: doneRunsOf(item),
    owner:
      item[A.ownerSession] === undefined ? undefined : { session: String(item[A.ownerSession]), generation: Number(item[A.sessionGeneration]) },
  };
}

function standbysOf(item: Record<string, unknown>): StandbySlot[] {
  const slots: StandbySlot[] = [];
  for (let slot = 0; slot < MAX_STANDBY_SLOTS; slot++) {
    const value = item[standbySlotAttribute(slot)] as { holderId?: unknown; until?: unknown } | undefined;
    if (value) slots.push({ slot, holderId: String(value.holderId), until: Number(value.until) });
  }
  return slots;
}

function doneRunsOf(item: Record<string, unknown>): DoneRun[] {
  const stored = (item[A.doneRuns] ?? {}) as Record<string, { fencingToken?: unknown; doneAt?: unknown }>;
  return Object.entries(stored)
    .map(([key, run]) => ({ key, fencingToken: Number(run.fencingToken), doneAt: Number(run.doneAt) }))
    .sort((a, b) => b.fencingToken - a.fencingToken);
}
