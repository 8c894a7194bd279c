/**
 * The lease table's shape, defined once. The runtime, the table helpers for tests and the demo,
 * and the CDK constructs all import it, so the key and index can never drift apart.
 *
 * @module
 */

/** Attribute names of a lease item. */
export const LeaseAttribute = {
  /** Partition key: the lease name. Lets IAM scope principals with `dynamodb:LeadingKeys`. */
  name: 'name',
  /** Id of the current (or, once released or expired, the last) holder. */
  holderId: 'holderId',
  /** Grows by one on every acquisition, forever; renewals keep it. */
  fencingToken: 'fencingToken',
  /** Lease duration the holder asked for, in ms. */
  leaseMs: 'leaseMs',
  /** Holder's wall clock at send time + leaseMs, in epoch ms. */
  expiresAt: 'expiresAt',
  /** A nonce that changes on every successful write (renewals included). */
  revision: 'revision',
  /** `held`, `released` or `expired`. */
  state: 'state',
  /** Wall-clock epoch ms of the acquisition that produced the current token. */
  acquiredAt: 'acquiredAt',
  /** Wall-clock epoch ms of the last successful write. */
  updatedAt: 'updatedAt',
  /** Optional holder-supplied payload. */
  data: 'data',
  /**
   * Present only while the lease is held: the partition key of the sparse reaper index. Removing
   * it on release and on reaping is what keeps free leases out of the index.
   */
  reapShard: 'reapShard',
  /**
   * Present only while the lease is held: the sort key of the reaper index, `expiresAt` rounded
   * up to the minute (`reapAfterOf`). Never below `expiresAt`, so the reaper finds no live lease;
   * and a renewal that keeps the expiry within the same minute leaves it, and so the index, as is.
   */
  reapAfter: 'reapAfter',
  /**
   * Runs recorded done under this name (`runOnce`, the singleton's `oncePer`): a map of run key
   * to `{ fencingToken, doneAt }`. Written only with the release of the run's own lease, and
   * pruned then to the newest `keep` entries by fencing token, so it stays bounded; every other
   * write leaves it as it is.
   */
  doneRuns: 'doneRuns',
  /**
   * On a lease owned by a session (see `Session`): the session's lease name. Such a lease has no
   * expiry of its own: it is held exactly as long as that session, in that generation, is.
   */
  ownerSession: 'ownerSession',
  /** On a lease owned by a session: the fencing token of the session lease that took it (its generation). */
  sessionGeneration: 'sessionGeneration',
  /**
   * On a session's own lease item, only while it is held: its group, the partition key of the
   * sparse session index, through which the members of a group find each other.
   */
  sessionGroup: 'sessionGroup',
} as const;

/**
 * Standby slots: followers register on the lease item so that only a bounded number watch it
 * closely (see `LeaderElector`). Slot `i` is the top-level attribute `standby<i>`, a map
 * `{ holderId, until }` (wall-clock epoch ms). Writing a slot never changes the lease's revision,
 * so it never restarts anyone's observed-unchanged wait.
 */
export const MAX_STANDBY_SLOTS = 8;
/** The lease item's attribute that holds standby slot `slot`: `standby0`, `standby1`, ... */
export const standbySlotAttribute = (slot: number): string => `standby${slot}`;

/** The states a stored lease item can be in. */
export const STORED_LEASE_STATES = ['held', 'released', 'expired'] as const;
/** One of {@link STORED_LEASE_STATES}. */
export type StoredLeaseState = (typeof STORED_LEASE_STATES)[number];

/**
 * The sparse index the reaper queries for held leases, ordered by the minute each one's lease runs
 * out within each shard.
 *
 * Why the minute and not `expiresAt` itself: DynamoDB bills a write that changes an index key
 * twice over in the index (a delete and a put), and one that changes a projected attribute once.
 * Renewals are a lease's most frequent write and move `expiresAt` every time; keyed on it, every
 * renewal cost three write units instead of one. Keyed on the minute, with only the attributes a
 * renewal never changes projected, a renewal touches the index once a minute at most. The price
 * is that the reaper finds an expired lease up to a minute later, and it runs once a minute anyway.
 */
export const ReaperIndex = {
  /** Index name (DynamoDB Local wants at least 3 characters). */
  name: 'leasehold-expiry',
  /** The lease's shard, `reapShardOf(name)`: present only while it is held, which keeps the index sparse. */
  partitionKey: LeaseAttribute.reapShard,
  /** `reapAfterOf(expiresAt)`: one range Query per shard finds every lease expired before a cutoff, and some expired up to a minute later. */
  sortKey: LeaseAttribute.reapAfter,
  /** What `reapAfter` rounds `expiresAt` up to a multiple of, in ms. */
  granularityMs: 60_000,
  /**
   * Held leases spread over this many index partitions so one never runs hot. Fixed: changing
   * it would strand items written under the old count until their next acquisition.
   */
  shardCount: 8,
  /**
   * Attributes the reaper needs to make its conditional write and publish its event: only those
   * fixed for a whole holding, so no renewal writes the index. The lease's expiry comes back
   * with the reaper's write.
   */
  projectedAttributes: [LeaseAttribute.holderId, LeaseAttribute.fencingToken] as readonly string[],
} as const;

/** A held lease's `reapAfter`: its `expiresAt` rounded up to the reaper index's granularity. */
export function reapAfterOf(expiresAt: number): number {
  return Math.ceil(expiresAt / ReaperIndex.granularityMs) * ReaperIndex.granularityMs;
}

/**
 * The sparse index through which a group's sessions find each other: one Query lists every held
 * session of a group, with what each published (its owned leases, its weight, its handoff wants).
 */
export const SessionIndex = {
  /** Index name. */
  name: 'leasehold-sessions',
  /** The session's group: present only while the session is held, which keeps the index sparse. */
  partitionKey: LeaseAttribute.sessionGroup,
  /** The session's lease name, so a group's sessions come back in one stable order. */
  sortKey: LeaseAttribute.name,
  /** What a member needs to judge another: liveness by the contender rule, and what it published. */
  projectedAttributes: [
    LeaseAttribute.holderId,
    LeaseAttribute.fencingToken,
    LeaseAttribute.revision,
    LeaseAttribute.leaseMs,
    LeaseAttribute.expiresAt,
    LeaseAttribute.state,
    LeaseAttribute.data,
  ] as readonly string[],
} as const;

/** DynamoDB's own item size limit, in bytes. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** Longest lease name accepted, in UTF-8 bytes (well under the 2,048-byte key limit). */
export const MAX_LEASE_NAME_BYTES = 255;

/**
 * The reaper-index shard of a lease name: a stable FNV-1a hash, so a name always lands in
 * the same shard on every client and language.
 */
export function reapShardOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % ReaperIndex.shardCount;
}
