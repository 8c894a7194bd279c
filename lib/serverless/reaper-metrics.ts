/**
 * Where the reaper's metrics land in CloudWatch, written once for both sides: the reaper Lambda
 * writes them with Powertools Metrics (embedded metric format), and the `LeaseReaper` construct
 * reads them for its `metric…()` methods and alarms. Imports nothing, so `leasehold/cdk` can use it
 * without loading the AWS SDK or Powertools.
 *
 * @module
 */

/** CloudWatch namespace of every leasehold metric. */
export const REAPER_METRICS_NAMESPACE = 'Leasehold';

/**
 * Metric names the reaper emits, each with its `service` dimension set to the table's name (the
 * construct sets `POWERTOOLS_SERVICE_NAME`), so each table's reaper has its own series.
 */
export const ReaperMetric = {
  /** Leases marked expired in a run (count). */
  leasesReaped: 'LeasesReaped',
  /** Reaps that lost to a renewal or takeover that landed first (count). */
  reapRaces: 'ReapRaces',
  /** Per reaped lease: reap time minus its `expiresAt` (ms), how long the name had no live holder. */
  leaderlessMs: 'LeaderlessMs',
  /** Time a run took (ms). */
  durationMs: 'ReaperDurationMs',
  /**
   * `Lease Expired` events that could not be published after retries (count): those leases are
   * marked expired but were never announced, and no later run announces them.
   */
  eventsFailed: 'ReapEventsFailed',
} as const;
