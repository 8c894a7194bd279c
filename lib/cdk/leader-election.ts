/**
 * The construct most users want: the lease table, the reaper and the alarms, with grants for the
 * processes that elect leaders.
 *
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LeaseEvents, type LeaseEventsOptions } from './lease-events.js';
import { LeaseReaper, type LeaseReaperOptions } from './lease-reaper.js';
import { LeaseTable, type GrantAcquireOptions, type LeaseTableProps } from './lease-table.js';
import { ensure, checkWholeNumber, rejectUnknownProps } from './validate.js';

/** Props of {@link LeaderElection}. */
export interface LeaderElectionProps {
  /**
   * The lease table. With `events`, it has a stream of new and old images; `stream` may only say so.
   * @default - see {@link LeaseTableProps}: on-demand, PITR, retained
   */
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
   * marks it expired. The reaper finds an expired lease up to two minutes after its expiry plus
   * skew (the minute its reaper index orders leases by, then the minute between runs on the
   * default schedule), so a threshold below that alarms on names that were replaced in time.
   * @default Duration.minutes(3)
   */
  readonly leaderlessThreshold?: Duration;
  /** Actions every alarm triggers, e.g. an SNS topic. @default - none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Publish every change of leadership (`Lease Acquired`, `Lease Released`, `Lease Expired`) to
   * EventBridge from the table's stream, with a {@link LeaseEvents} function: `true`, or its
   * options. The table gets a stream of new and old images (turning it on is an update in place,
   * not a replacement), and the reaper publishes nothing, so each expiry is announced once.
   * @default false: only the reaper publishes, `Lease Expired`
   */
  readonly events?: boolean | LeaseEventsOptions;
}

const PROPS = ['table', 'reaper', 'leasesReapedThreshold', 'leaderlessThreshold', 'alarmActions', 'events'] as const;

/**
 * A lease table, its reaper and four alarms: the reaper failing, leases being reaped (a leader
 * died), names left leaderless too long, and `Lease Expired` events the reaper could not publish.
 * With `events`, a {@link LeaseEvents} function publishes every change of leadership instead, the
 * fourth alarm watches its events, a fifth how far behind the stream it is, and a sixth the
 * batches Lambda gave up on.
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
  /**
   * In alarm when an event could not be published in the last minute: a `Lease Expired` of the
   * reaper's, or with `events` any event of the {@link LeaseEvents} function's.
   */
  readonly eventsFailedAlarm: cloudwatch.Alarm;
  /** The stream publisher, with `events`. */
  readonly events: LeaseEvents | undefined;
  /** With `events`: in alarm when the publisher is 5 minutes or more behind the stream (a failing event holds up the rest). */
  readonly eventsDelayedAlarm: cloudwatch.Alarm | undefined;
  /** With `events`: in alarm when Lambda gave up on a batch of the stream, whose changes were never announced. */
  readonly eventsAbandonedAlarm: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: LeaderElectionProps = {}) {
    super(scope, id);
    rejectUnknownProps('LeaderElectionProps', props, PROPS);
    checkWholeNumber('LeaderElectionProps.leasesReapedThreshold', props.leasesReapedThreshold, 1, Number.MAX_SAFE_INTEGER);
    const leaderlessThreshold = props.leaderlessThreshold ?? Duration.minutes(3);
    ensure('LeaderElectionProps.leaderlessThreshold', leaderlessThreshold.toMilliseconds() > 0, 'must be longer than zero');

    const eventsOptions = props.events === true ? {} : props.events || undefined;
    if (eventsOptions) checkEventsProps(props);
    const stream = eventsOptions ? dynamodb.StreamViewType.NEW_AND_OLD_IMAGES : props.table?.stream;

    this.leaseTable = new LeaseTable(this, 'Table', { ...props.table, stream });
    const publishExpiries = eventsOptions ? { publishEvents: false } : {};
    this.reaper = new LeaseReaper(this, 'Reaper', { ...props.reaper, ...publishExpiries, table: this.leaseTable.table });
    this.events = eventsOptions && new LeaseEvents(this, 'Events', { ...eventsOptions, table: this.leaseTable.table });

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
      alarmDescription: this.events
        ? 'The leasehold lease events function could not publish an event: Lambda is resending it, and later changes wait behind it.'
        : 'The leasehold reaper could not publish Lease Expired events: those leases were marked expired and will not be announced.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Both publishers write the metric only when an event failed.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.eventsDelayedAlarm = this.events?.metricIteratorAge().createAlarm(this, 'EventsDelayed', {
      alarmDescription:
        'The leasehold lease events function is 5 minutes or more behind the lease table stream: changes of leadership are announced late.',
      threshold: Duration.minutes(5).toMilliseconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data while no lease is written.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.eventsAbandonedAlarm = this.events?.metricBatchesAbandoned().createAlarm(this, 'EventsAbandoned', {
      alarmDescription: 'Lambda gave up on a batch of the lease table stream: its changes of leadership were never announced.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarms = [
      this.reaperErrorsAlarm,
      this.leasesReapedAlarm,
      this.leaderlessAlarm,
      this.eventsFailedAlarm,
      this.eventsDelayedAlarm,
      this.eventsAbandonedAlarm,
    ];
    for (const alarm of alarms) alarm?.addAlarmAction(...(props.alarmActions ?? []));
  }

  /** See {@link LeaseTable.grantAcquire}. */
  grantAcquire(grantee: iam.IGrantable, options?: GrantAcquireOptions): iam.Grant {
    return this.leaseTable.grantAcquire(grantee, options);
  }

  /** See {@link LeaseTable.grantSessions}: for members of a `LeaseGroup`, or users of `Session`. */
  grantSessions(grantee: iam.IGrantable, options?: GrantAcquireOptions): iam.Grant {
    return this.leaseTable.grantSessions(grantee, options);
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

  /**
   * Events that could not be published, Sum over 1 minute: {@link LeaseEvents.metricEventsFailed}
   * with `events`, else {@link LeaseReaper.metricEventsFailed}.
   */
  metricEventsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return (this.events ?? this.reaper).metricEventsFailed(props);
  }
}

/** With `events`: a stream that shows both images, and expiries announced by the stream publisher alone. */
function checkEventsProps(props: LeaderElectionProps): void {
  const stream = props.table?.stream;
  ensure(
    'LeaderElectionProps.table.stream',
    stream === undefined || stream === dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    'must be NEW_AND_OLD_IMAGES with events',
  );
  ensure(
    'LeaderElectionProps.reaper.publishEvents',
    props.reaper?.publishEvents !== true,
    'must not be true with events: the stream publisher announces expiries, and each would be announced twice',
  );
}
