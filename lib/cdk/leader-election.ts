/**
 * The construct most users want: the lease table, the reaper and the alarms, with grants for the
 * processes that elect leaders.
 *
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LeaseReaper, type LeaseReaperOptions } from './lease-reaper.js';
import { LeaseTable, type GrantAcquireOptions, type LeaseTableProps } from './lease-table.js';
import { ensure, checkWholeNumber, rejectUnknownProps } from './validate.js';

/** Props of {@link LeaderElection}. */
export interface LeaderElectionProps {
  /** The lease table. @default - see {@link LeaseTableProps}: on-demand, PITR, retained */
  readonly table?: LeaseTableProps;
  /** The reaper. @default - see {@link LeaseReaperOptions}: every minute, default event bus */
  readonly reaper?: LeaseReaperOptions;
  /**
   * Alarm when at least this many leases are reaped in one minute.
   * @default 1: every leader that died without releasing and was not replaced in time
   */
  readonly leasesReapedThreshold?: number;
  /**
   * Alarm when a lease name has gone this long without a live holder by the time the reaper
   * marks it expired.
   * @default Duration.minutes(2)
   */
  readonly leaderlessThreshold?: Duration;
  /** Actions every alarm triggers, e.g. an SNS topic. @default - none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

const PROPS = ['table', 'reaper', 'leasesReapedThreshold', 'leaderlessThreshold', 'alarmActions'] as const;

/**
 * A lease table, its reaper and four alarms: the reaper failing, leases being reaped (a leader
 * died), names left leaderless too long, and `Lease Expired` events the reaper could not publish.
 *
 * @example
 * const election = new LeaderElection(this, 'Election');
 * election.grantAcquire(workerFunction, { names: ['billing-*'] });
 */
export class LeaderElection extends Construct {
  /**
   * The lease table: pass its `tableName` to the code that takes leases, and let that code in
   * with {@link grantAcquire}.
   */
  readonly leaseTable: LeaseTable;
  /** The table's reaper: its function, schedule, dead-letter queue, and metrics for your own alarms. */
  readonly reaper: LeaseReaper;
  /** In alarm when the reaper failed in at least 3 of the last 5 minutes. */
  readonly reaperErrorsAlarm: cloudwatch.Alarm;
  /** In alarm when at least `leasesReapedThreshold` leases were reaped in a minute. */
  readonly leasesReapedAlarm: cloudwatch.Alarm;
  /** In alarm when a reaped name had been leaderless for `leaderlessThreshold` or longer. */
  readonly leaderlessAlarm: cloudwatch.Alarm;
  /** In alarm when a `Lease Expired` event could not be published in the last minute. */
  readonly eventsFailedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: LeaderElectionProps = {}) {
    super(scope, id);
    rejectUnknownProps('LeaderElectionProps', props, PROPS);
    checkWholeNumber('LeaderElectionProps.leasesReapedThreshold', props.leasesReapedThreshold, 1, Number.MAX_SAFE_INTEGER);
    const leaderlessThreshold = props.leaderlessThreshold ?? Duration.minutes(2);
    ensure('LeaderElectionProps.leaderlessThreshold', leaderlessThreshold.toMilliseconds() > 0, 'must be longer than zero');

    this.leaseTable = new LeaseTable(this, 'Table', props.table);
    this.reaper = new LeaseReaper(this, 'Reaper', { ...props.reaper, table: this.leaseTable.table });

    this.reaperErrorsAlarm = this.metricReaperErrors({ period: Duration.minutes(1) }).createAlarm(this, 'ReaperErrors', {
      alarmDescription: 'The leasehold reaper failed in at least 3 of the last 5 minutes. Expired leases are not being marked.',
      threshold: 1,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.leasesReapedAlarm = this.metricLeasesReaped().createAlarm(this, 'LeasesReaped', {
      alarmDescription: 'Leases were reaped: their holders stopped renewing without releasing, and nobody took over.',
      threshold: props.leasesReapedThreshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.leaderlessAlarm = this.metricLeaderlessMs().createAlarm(this, 'Leaderless', {
      alarmDescription: `A lease name went ${leaderlessThreshold.toHumanString()} or longer without a live holder.`,
      threshold: leaderlessThreshold.toMilliseconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.eventsFailedAlarm = this.metricEventsFailed().createAlarm(this, 'EventsFailed', {
      alarmDescription:
        'The leasehold reaper could not publish Lease Expired events: those leases were marked expired and will not be announced.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // The reaper writes the metric only when an event failed.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.reaperErrorsAlarm, this.leasesReapedAlarm, this.leaderlessAlarm, this.eventsFailedAlarm]) {
      alarm.addAlarmAction(...(props.alarmActions ?? []));
    }
  }

  /** See {@link LeaseTable.grantAcquire}. */
  grantAcquire(grantee: iam.IGrantable, options?: GrantAcquireOptions): iam.Grant {
    return this.leaseTable.grantAcquire(grantee, options);
  }

  /** See {@link LeaseTable.grantObserve}. */
  grantObserve(grantee: iam.IGrantable): iam.Grant {
    return this.leaseTable.grantObserve(grantee);
  }

  /** Failed reaper runs: Sum over 5 minutes. */
  metricReaperErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaper.metricErrors(props);
  }

  /** Leases reaped (a holder died and nobody took over in time): Sum over 1 minute. */
  metricLeasesReaped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaper.metricLeasesReaped(props);
  }

  /** See {@link LeaseReaper.metricLeaderlessMs}: Maximum over 1 minute, in ms. */
  metricLeaderlessMs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaper.metricLeaderlessMs(props);
  }

  /** See {@link LeaseReaper.metricEventsFailed}: Sum over 1 minute. */
  metricEventsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaper.metricEventsFailed(props);
  }
}
