/**
 * One small hook for election metrics, and an adapter that publishes them through Powertools
 * Metrics (CloudWatch embedded metric format). The adapter does not import Powertools, even as a
 * type: the caller passes its own `Metrics` instance, which it accepts by shape, so neither the
 * elector nor its type declarations need Powertools installed.
 *
 * @module
 */
/** Counters an elector reports. */
export type ElectionCounter =
  /** This node became leader. */
  | 'LeadershipAcquired'
  /** This node stopped leading (resigned, lost, expired). */
  | 'LeadershipLost'
  /** A renewal failed (it is retried until the lease's deadline). */
  | 'RenewFailed'
  /** This node stepped down because its work stalled or its event loop lagged (`stallMs`, `maxEventLoopLagMs`). */
  | 'LeadershipStalled';

/** Durations an elector reports, in ms. */
export type ElectionDuration =
  /** From starting to campaign to winning. */
  | 'TimeToElectMs'
  /** One successful renewal, retries included. */
  | 'RenewLatencyMs'
  /** How long a follower saw no leader (free, released or expired) before one appeared. */
  | 'LeaderlessMs';

/** Receives an elector's metrics. Implementations must not throw or block. */
export interface ElectionMetrics {
  /** Adds `value` to a counter; the elector leaves it out, meaning 1. */
  count(metric: ElectionCounter, value?: number): void;
  /** Records one duration, in ms. */
  duration(metric: ElectionDuration, ms: number): void;
}

/** Discards everything: the default. */
export const noMetrics: ElectionMetrics = { count: () => {}, duration: () => {} };

/** What {@link powertoolsElectionMetrics} uses of a Powertools `Metrics` instance, which has it. */
export interface PowertoolsMetricsLike {
  /** Adds one data point of metric `name` in `unit` (Powertools' `Metrics.addMetric`). */
  addMetric(name: string, unit: 'Count' | 'Milliseconds', value: number): void;
}

/**
 * Publishes election metrics through a Powertools `Metrics` instance (EMF). Flushing stays the
 * caller's: in Lambda the Powertools middleware does it; a container calls
 * `metrics.publishStoredMetrics()` on its own schedule.
 */
export function powertoolsElectionMetrics(metrics: PowertoolsMetricsLike): ElectionMetrics {
  return {
    count: (metric, value = 1) => metrics.addMetric(metric, 'Count', value),
    duration: (metric, ms) => metrics.addMetric(metric, 'Milliseconds', ms),
  };
}
