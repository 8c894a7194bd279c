/**
 * The shapes of stored lease items, and reading one from DynamoDB's native-value form.
 *
 * @module
 */
import { LeaseAttribute as A, MAX_STANDBY_SLOTS, standbySlotAttribute, type StoredLeaseState } from './schema.js';

/** A lease item as stored. */
export interface LeaseRecord {
  readonly name: string;
  readonly holderId: string;
  readonly fencingToken: number;
  readonly leaseMs: number;
  readonly expiresAt: number;
  readonly revision: string;
  readonly state: StoredLeaseState;
  readonly acquiredAt: number;
  readonly updatedAt: number;
  readonly data: Record<string, unknown> | undefined;
  /** Followers registered as standbys, by slot. */
  readonly standbys: readonly StandbySlot[];
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

/** What the reaper index holds of a lease: enough to mark it expired and announce it. */
export interface IndexedLease {
  readonly name: string;
  readonly holderId: string;
  readonly fencingToken: number;
  readonly revision: string;
  readonly expiresAt: number;
}

/** A conditional write either landed (the item after it) or did not (the item that stopped it). */
export type WriteOutcome =
  | { readonly landed: true; readonly record: LeaseRecord }
  | { readonly landed: false; readonly current: LeaseRecord | undefined };

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
