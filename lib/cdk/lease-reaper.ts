/**
 * The reaper: a scheduled Lambda function that marks expired leases and publishes one
 * `Lease Expired` event for each. Housekeeping and notification only: leases stay safe without it.
 *
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_SKEW_MS } from '../core/defaults.js';
import { ReaperEnvironment } from '../serverless/reaper-config.js';
import { REAPER_METRICS_NAMESPACE, ReaperMetric } from '../serverless/reaper-metrics.js';
import { REAPER_BUS_ACTIONS, REAPER_INDEX_ACTIONS, REAPER_TABLE_ACTIONS } from './actions.js';
import { bundledFunctionBasics, deadLetterQueueOf } from './bundled-handler.js';
import { reaperIndexArn } from './lease-table.js';
import { checkWholeNumber, rejectUnknownProps } from './validate.js';

/** Options of {@link LeaseReaper} that {@link LeaderElection} passes through. */
export interface LeaseReaperOptions {
  /** When the reaper runs. @default Schedule.rate(Duration.minutes(1)) */
  readonly schedule?: events.Schedule;
  /** The bus `Lease Expired` events go to. @default - the account's default event bus */
  readonly eventBus?: events.IEventBus;
  /**
   * Whether the reaper publishes a `Lease Expired` event for each lease it marks. Off where a
   * `LeaseEvents` function announces every change from the table's stream, expiries included, so
   * each expiry is announced once (`LeaderElection` turns it off with `events`); the role then
   * may not publish at all.
   * @default true
   */
  readonly publishEvents?: boolean;
  /**
   * A lease is reaped (and announced) only once `expiresAt + skew` has passed on the reaper's
   * clock, and found up to a minute after that (the reaper index orders leases by the minute
   * they run out). Only when events go out depends on it, never safety: a reaped lease is taken
   * by the same rule as a held one. The clients' `skewMs` avoids announcing leases too early.
   * @default Duration.millis(DEFAULT_SKEW_MS): 1 second, the clients' default
   */
  readonly skew?: Duration;
  /**
   * The function's timeout. The reaper stops before it and leaves the rest to the next run.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /** The function's memory, in MB. @default 256 */
  readonly memorySize?: number;
  /** How long the function's logs are kept. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How often EventBridge retries a schedule tick it could not deliver to the function before
   * sending it to the dead-letter queue.
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * Where ticks EventBridge could not deliver go.
   * @default - a new queue, encrypted with SQS-managed keys, kept 14 days
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/** Props of {@link LeaseReaper}. */
export interface LeaseReaperProps extends LeaseReaperOptions {
  /** The lease table, e.g. `LeaseTable.table`. It must have the reaper index. */
  readonly table: dynamodb.ITable;
}

const PROPS = [
  'table',
  'schedule',
  'eventBus',
  'skew',
  'timeout',
  'memorySize',
  'logRetention',
  'retryAttempts',
  'deadLetterQueue',
  'publishEvents',
] as const;

/** A tick older than this is worthless: later ticks do the same work. */
const MAX_TICK_AGE = Duration.minutes(5);

/**
 * The reaper function, its schedule (an EventBridge rule), its dead-letter queue and its log
 * group. Its role may query the reaper index, update items in the table, publish to the bus and
 * write its own logs; nothing else. The handler ships pre-bundled in the package (one ES module
 * file, the AWS SDK inside), so `cdk synth` needs neither esbuild nor Docker.
 */
export class LeaseReaper extends Construct {
  /** The reaper function (Node.js 22, arm64), run by {@link rule}. */
  readonly function: lambda.IFunction;
  /** The EventBridge rule that runs the function on the `schedule`. */
  readonly rule: events.Rule;
  /** Where schedule ticks EventBridge could not deliver to the function go: the given queue or a new one. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The function's log group, kept for `logRetention`. */
  readonly logGroup: logs.ILogGroup;
  /** The bus `Lease Expired` events go to: the given one, or the account's default bus. */
  readonly eventBus: events.IEventBus;
  /** The `service` dimension of the reaper's metrics: the table's name. */
  private readonly metricsService: string;

  constructor(scope: Construct, id: string, props: LeaseReaperProps) {
    super(scope, id);
    rejectUnknownProps('LeaseReaperProps', props, PROPS);
    checkWholeNumber('LeaseReaperProps.retryAttempts', props.retryAttempts, 0, 185);
    checkWholeNumber('LeaseReaperProps.memorySize', props.memorySize, 128, 10_240);
    const { table } = props;
    this.metricsService = table.tableName;
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });

    this.function = new lambda.Function(this, 'Function', {
      ...bundledFunctionBasics('reaper', 'reaper'),
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.reaperRole(table, props.publishEvents ?? true),
      logGroup: this.logGroup,
      description: 'leasehold reaper: marks expired leases and publishes Lease Expired events',
      // A failed run's leases are still in the index and the next tick reaps them; a retry
      // would only overlap with that tick.
      retryAttempts: 0,
      environment: {
        [ReaperEnvironment.tableName]: table.tableName,
        [ReaperEnvironment.eventBusName]: this.eventBus.eventBusName,
        [ReaperEnvironment.skewMs]: String((props.skew ?? Duration.millis(DEFAULT_SKEW_MS)).toMilliseconds()),
        ...(props.publishEvents === false && { [ReaperEnvironment.publishEvents]: 'false' }),
        POWERTOOLS_METRICS_NAMESPACE: REAPER_METRICS_NAMESPACE,
        // The metrics' `service` dimension: one series per table, so reapers of two tables differ.
        POWERTOOLS_SERVICE_NAME: this.metricsService,
      },
    });

    this.deadLetterQueue = deadLetterQueueOf(this, props.deadLetterQueue);
    this.rule = new events.Rule(this, 'Schedule', {
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(1)),
      description: 'Runs the leasehold reaper',
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.function, {
        retryAttempts: props.retryAttempts ?? 2,
        maxEventAge: MAX_TICK_AGE,
        deadLetterQueue: this.deadLetterQueue,
      }),
    );
  }

  /**
   * The function's role: query the reaper index, update the table, publish to the bus (when it
   * publishes), write its own log group. Not the basic-execution managed policy, which may write
   * to any log group.
   */
  private reaperRole(table: dynamodb.ITable, publishEvents: boolean): iam.Role {
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'leasehold reaper: query the reaper index, mark expired leases, publish Lease Expired events',
    });
    this.logGroup.grantWrite(role);
    const allow = (actions: readonly string[], resource: string) =>
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources: [resource] }));
    allow(REAPER_INDEX_ACTIONS, reaperIndexArn(table.tableArn));
    allow(REAPER_TABLE_ACTIONS, table.tableArn);
    if (publishEvents) allow(REAPER_BUS_ACTIONS, this.eventBus.eventBusArn);
    table.encryptionKey?.grantEncryptDecrypt(role);
    return role;
  }

  /** Failed reaper runs: Lambda `Errors`, Sum over 5 minutes. */
  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5), ...props });
  }

  /** Reaper runs: Lambda `Invocations`, Sum over 5 minutes. */
  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5), ...props });
  }

  /**
   * Leases the reaper marked expired: each one's holder stopped renewing and nobody took the
   * lease over in the meantime. Sum over 1 minute.
   */
  metricLeasesReaped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaperMetric(ReaperMetric.leasesReaped, cloudwatch.Stats.SUM, props);
  }

  /** Reaps that lost to a renewal or takeover landing first (harmless). Sum over 1 minute. */
  metricReapRaces(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaperMetric(ReaperMetric.reapRaces, cloudwatch.Stats.SUM, props);
  }

  /**
   * How long a reaped lease's name had gone without a live holder when the reaper marked it:
   * reap time minus the lease's `expiresAt`, in ms. Maximum over 1 minute.
   */
  metricLeaderlessMs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaperMetric(ReaperMetric.leaderlessMs, cloudwatch.Stats.MAXIMUM, props);
  }

  /** How long reaper runs take, in ms. Maximum over 5 minutes. */
  metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaperMetric(ReaperMetric.durationMs, cloudwatch.Stats.MAXIMUM, { period: Duration.minutes(5), ...props });
  }

  /**
   * `Lease Expired` events the reaper could not publish after retries: those leases were marked
   * expired but never announced, and no later run announces them. Sum over 1 minute; no data
   * when none failed.
   */
  metricEventsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reaperMetric(ReaperMetric.eventsFailed, cloudwatch.Stats.SUM, props);
  }

  private reaperMetric(metricName: string, statistic: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: REAPER_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.metricsService },
      statistic,
      period: Duration.minutes(1),
      ...props,
    });
  }
}
