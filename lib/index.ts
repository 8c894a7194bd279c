/**
 * leasehold: leader election and singleton locks on DynamoDB conditional writes, with fencing
 * tokens. The root export is the lease protocol and the leader elector, and loads only the
 * DynamoDB clients; the Lambda side is `leasehold/serverless`, the CDK constructs `leasehold/cdk`,
 * and the kit for users' own tests `leasehold/testing`.
 *
 * @packageDocumentation
 */
export { LeaseClient } from './core/lease-client.js';
export type { LeaseClientOptions, AcquireOptions, WaitingAcquireOptions, LeaseDescription } from './core/lease-client.js';
export { Lease } from './core/lease.js';
export type { ElectionLeases, SingletonLeases, PeekOptions, PeekResult } from './core/contracts.js';
export type { StandbySlot } from './core/lease-record.js';
export type { RenewOptions } from './core/lease.js';
export { Semaphore, MAX_SEMAPHORE_LIMIT } from './core/semaphore.js';
export type { SemaphoreOptions, SemaphoreLeases, SemaphoreSlot } from './core/semaphore.js';
export { runOnce, MAX_KEEP_DONE, MAX_RUN_KEY_BYTES } from './core/once.js';
export type { RunOnceLeases, RunOnceOptions, RunOnceContext, RunOnceResult } from './core/once.js';
export type { DoneRun } from './core/lease-record.js';
export type { ReleaseDoneOptions } from './core/lease.js';
export { Session } from './session/session.js';
export type { SessionOptions, SessionAcquireOptions, SessionMember, SessionEvents } from './session/session.js';
export { OwnedLease } from './core/owned-lease.js';
export type { SessionOwner } from './core/lease-record.js';
export { LeaseGroup } from './group/lease-group.js';
export type { LeaseGroupEvents, Partition, PartitionLoss, GroupMember } from './group/lease-group.js';
export { MAX_GROUP_PARTITIONS } from './group/options.js';
export type { LeaseGroupOptions, PartitionCount } from './group/options.js';
export { fencedWrite, fencingCondition } from './core/fencing.js';
export type { FencedItems, FencedWriteOptions, FencingCondition } from './core/fencing.js';
export * from './elector/index.js';
export type { ObserveStreamOptions, StreamsClientLike } from './elector/observe-leader.js';
export { createLeaseTable, verifyLeaseTable } from './core/table.js';
export type { CreateLeaseTableOptions, VerifyLeaseTableOptions } from './core/table.js';
export { MAX_LEASE_NAME_BYTES } from './core/schema.js';
export { systemClock, ManualClock, sleep } from './core/clock.js';
export type { Clock, TimerHandle } from './core/clock.js';
export {
  LeaseholdError,
  InvalidArgumentError,
  LeaseUnavailableError,
  LeaseLostError,
  TableNotFoundError,
  TableSchemaMismatchError,
  LeaseStoreError,
  FencedWriteRejectedError,
  TransactionConflictError,
} from './core/errors.js';
export type { HolderSnapshot, LeaseLossReason } from './core/errors.js';
