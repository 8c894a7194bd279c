/**
 * leasehold on AWS Lambda: the `singleton` middy middleware, the reaper engine and the event
 * publisher it reports through. Apart from the root export so that a container using the elector
 * never loads middy, EventBridge or the Lambda types.
 *
 * @packageDocumentation
 */
export { singleton } from './singleton.js';
export type { SingletonOptions, SingletonContext, OnBusy } from './singleton.js';
export type { OncePer } from './once-per.js';
export { reapExpiredLeases } from './reaper.js';
export type { ReapOptions, ReapSummary } from './reaper.js';
export { eventBridgePublisher, LEASE_EVENT_SOURCE, LEASE_EXPIRED } from './events.js';
export type { LeaseEventPublisher, LeaseExpiredDetail } from './events.js';
export { LEASE_ACQUIRED, LEASE_RELEASED } from './events.js';
export type { LeaseAcquiredDetail, LeaseReleasedDetail, LeaseEvent, LeaseEventSender } from './events.js';
export { leaseEventsOf, publishLeaseEvents } from './lease-events.js';
export type { LeaseChange, LeaseEventsSummary, PublishLeaseEventsOptions } from './lease-events.js';
export { readReaperConfig } from './reaper-config.js';
export type { ReaperConfig } from './reaper-config.js';
