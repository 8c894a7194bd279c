/**
 * Where the `LeaseEvents` function's metrics land in CloudWatch, written once for both sides: the
 * Lambda writes them with Powertools Metrics (embedded metric format) in the namespace of every
 * leasehold metric, and the `LeaseEvents` construct reads them for its `metric…()` methods and
 * alarms. Imports nothing, so `leasehold/cdk` can use it without loading the AWS SDK or Powertools.
 *
 * @module
 */

/**
 * Metric names the `LeaseEvents` function emits, each with its `service` dimension set to the
 * table's name (the construct sets `POWERTOOLS_SERVICE_NAME`), as the reaper's are.
 */
export const LeaseEventsMetric = {
  /** Events published by an invocation (count). */
  published: 'LeaseEventsPublished',
  /**
   * Events an invocation could not publish after resending them (count, written only when
   * positive): Lambda resends the batch from that event's record, up to the mapping's retries.
   */
  failed: 'LeaseEventsFailed',
} as const;
