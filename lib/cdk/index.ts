/**
 * AWS CDK constructs for leasehold: the lease table, the reaper, the lease events publisher, and
 * `LeaderElection`, which combines them with grants and alarms. Exposed as `leasehold/cdk`, apart from the root export,
 * so that using the library does not load aws-cdk-lib.
 *
 * @packageDocumentation
 */
export { LeaseTable } from './lease-table.js';
export type { LeaseTableProps, GrantAcquireOptions } from './lease-table.js';
export { LeaseReaper } from './lease-reaper.js';
export type { LeaseReaperOptions, LeaseReaperProps } from './lease-reaper.js';
export { LeaseEvents } from './lease-events.js';
export type { LeaseEventsOptions, LeaseEventsProps } from './lease-events.js';
export { LeaderElection } from './leader-election.js';
export type { LeaderElectionProps } from './leader-election.js';
export {
  ACQUIRE_ITEM_ACTIONS,
  TABLE_METADATA_ACTIONS,
  OBSERVE_ACTIONS,
  OBSERVE_STREAM_ACTIONS,
  REAPER_INDEX_ACTIONS,
  REAPER_TABLE_ACTIONS,
  REAPER_BUS_ACTIONS,
  EVENTS_STREAM_ACTIONS,
  EVENTS_BUS_ACTIONS,
  SESSION_ITEM_ACTIONS,
  SESSION_INDEX_ACTIONS,
} from './actions.js';
// Written once beside the reaper, which emits them; dependency-free, so no SDK loads here.
export { REAPER_METRICS_NAMESPACE, ReaperMetric } from '../serverless/reaper-metrics.js';
export { LeaseEventsMetric } from '../serverless/lease-events-metrics.js';
