/**
 * Where the reaper's metrics land in CloudWatch. The reaper writes them with Powertools Metrics
 * (embedded metric format); the construct sets the namespace and the `service` dimension through
 * `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME`, so both sides agree.
 *
 * @module
 */

/** CloudWatch namespace of every leasehold metric. */
export const REAPER_METRICS_NAMESPACE = 'Leasehold';

/** Metric names the reaper emits. */
export const ReaperMetric = {
  /** Leases marked expired in a run (count). */
  leasesReaped: 'LeasesReaped',
  /** Reaps that lost to a renewal or takeover that landed first (count). */
  reapRaces: 'ReapRaces',
  /** Per reaped lease: reap time minus its `expiresAt` (ms), how long the name had no live holder. */
  leaderlessMs: 'LeaderlessMs',
  /** Time a run took (ms). */
  durationMs: 'ReaperDurationMs',
} as const;
