/**
 * Every change of leadership as an EventBridge event: a Lambda function on the lease table's
 * stream publishes `Lease Acquired`, `Lease Released` and `Lease Expired`, in order per name.
 *
 * @module
 */
import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { InvalidArgumentError } from '../core/errors.js';
import { LeaseEventsEnvironment, STOP_BEFORE_DEADLINE_MS } from '../serverless/lease-events-config.js';
import { LeaseEventsMetric } from '../serverless/lease-events-metrics.js';
import { REAPER_METRICS_NAMESPACE } from '../serverless/reaper-metrics.js';
import { EVENTS_BUS_ACTIONS, EVENTS_STREAM_ACTIONS } from './actions.js';
import { bundledFunctionBasics, deadLetterQueueOf } from './bundled-handler.js';
import { checkWholeNumber, ensure, rejectUnknownProps } from './validate.js';

/** Options of {@link LeaseEvents} that {@link LeaderElection} passes through. */
export interface LeaseEventsOptions {
  /** The bus events go to. @default - the account's default event bus */
  readonly eventBus?: events.IEventBus;
  /** The most stream records one invocation gets. @default 100 */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before it invokes the function: fewer invocations (renewals
   * invoke it too, and publish nothing), later events.
   * @default - none: records are handed over as they arrive
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * How many times Lambda resends a batch from the first event that could not be published
   * before it gives up on the batch, sends its description to the dead-letter queue and goes on.
   * Until then later changes wait behind it, in order.
   * @default - no limit: until the record leaves the stream, 24 hours after the write
   */
  readonly retryAttempts?: number;
  /** The function's timeout; at least 10 seconds, since it stops sending 8 seconds before it. @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** The function's memory, in MB. @default 256 */
  readonly memorySize?: number;
  /** How long the function's logs are kept. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where Lambda sends the description (shard, sequence numbers) of each batch it gave up on:
   * those records can be read from the stream for its 24 hours.
   * @default - a new queue, encrypted with SQS-managed keys, kept 14 days
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/** Props of {@link LeaseEvents}. */
export interface LeaseEventsProps extends LeaseEventsOptions {
  /**
   * The lease table, with a stream of new and old images: a `LeaseTable`'s `table` with `stream:
   * StreamViewType.NEW_AND_OLD_IMAGES` (`LeaderElection`'s has one), or an imported table with
   * its `tableStreamArn`.
   */
  readonly table: dynamodb.ITable;
}

const PROPS = [
  'table',
  'eventBus',
  'batchSize',
  'maxBatchingWindow',
  'retryAttempts',
  'timeout',
  'memorySize',
  'logRetention',
  'deadLetterQueue',
] as const;

/**
 * A function on the lease table's stream that publishes one EventBridge event per change of
 * leadership (`Lease Acquired`, `Lease Released`, `Lease Expired`; renewals publish nothing), in
 * order per lease name. Its event source mapping hands it one batch per shard at a time
 * (`parallelizationFactor` 1) and takes partial batch failures (`ReportBatchItemFailures`): the
 * function stops at the first event it cannot publish and Lambda resends from that record, so
 * nothing is published twice on that path. Its role may read that table's stream, publish to that
 * bus, send to its dead-letter queue and write its own logs; nothing else. The handler ships
 * pre-bundled in the package, so `cdk synth` needs neither esbuild nor Docker.
 */
export class LeaseEvents extends Construct {
  /** The publishing function (Node.js 22, arm64). */
  readonly function: lambda.IFunction;
  /** The mapping that runs {@link function} on the table's stream. */
  readonly eventSourceMapping: lambda.EventSourceMapping;
  /** Where Lambda describes the batches it gave up on: the given queue or a new one. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The function's log group, kept for `logRetention`. */
  readonly logGroup: logs.ILogGroup;
  /** The bus events go to: the given one, or the account's default bus. */
  readonly eventBus: events.IEventBus;
  /** The `service` dimension of the function's metrics: the table's name. */
  private readonly metricsService: string;

  constructor(scope: Construct, id: string, props: LeaseEventsProps) {
    super(scope, id);
    rejectUnknownProps('LeaseEventsProps', props, PROPS);
    checkWholeNumber('LeaseEventsProps.batchSize', props.batchSize, 1, 10_000);
    checkWholeNumber('LeaseEventsProps.retryAttempts', props.retryAttempts, 0, 10_000);
    checkWholeNumber('LeaseEventsProps.memorySize', props.memorySize, 128, 10_240);
    const timeout = props.timeout ?? Duration.seconds(30);
    ensure(
      'LeaseEventsProps.timeout',
      Token.isUnresolved(timeout.toSeconds()) || timeout.toMilliseconds() >= STOP_BEFORE_DEADLINE_MS + 2_000,
      `must be at least ${(STOP_BEFORE_DEADLINE_MS + 2_000) / 1_000} seconds: the function stops sending ${STOP_BEFORE_DEADLINE_MS / 1_000} seconds before it`,
    );
    const { table } = props;
    const streamArn = table.tableStreamArn;
    if (streamArn === undefined) throw new InvalidArgumentError('LeaseEventsProps.table', 'must have a stream (StreamViewType.NEW_AND_OLD_IMAGES)');
    this.node.addValidation({ validate: () => streamViewTypeProblems(table) });
    this.metricsService = table.tableName;
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });

    this.function = new lambda.Function(this, 'Function', {
      ...bundledFunctionBasics('lease-events', 'lease events function'),
      memorySize: props.memorySize ?? 256,
      timeout,
      role: this.publisherRole(table, streamArn),
      logGroup: this.logGroup,
      description: 'leasehold lease events: publishes each change of leadership from the lease table stream to EventBridge',
      environment: {
        [LeaseEventsEnvironment.eventBusName]: this.eventBus.eventBusName,
        POWERTOOLS_METRICS_NAMESPACE: REAPER_METRICS_NAMESPACE,
        // The metrics' `service` dimension: one series per table, as the reaper's.
        POWERTOOLS_SERVICE_NAME: this.metricsService,
      },
    });

    this.deadLetterQueue = deadLetterQueueOf(this, props.deadLetterQueue);
    this.eventSourceMapping = new lambda.EventSourceMapping(this, 'StreamMapping', {
      target: this.function,
      eventSourceArn: streamArn,
      // Changes from the moment the mapping exists: a new mapping must not announce a day-old past.
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: props.maxBatchingWindow,
      // One batch per shard at a time: the stream's order per lease name is the order published.
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      // With partial batch failures, Lambda splits the batch at the failed record and resends that half.
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts,
      onFailure: new SqsDlq(this.deadLetterQueue),
    });
  }

  /**
   * The function's role: read the table's stream, publish to the bus, write its own log group
   * (the mapping adds sending to the dead-letter queue). Not the basic-execution managed policy,
   * which may write to any log group, nor `grantStreamRead`, which may list every stream.
   */
  private publisherRole(table: dynamodb.ITable, streamArn: string): iam.Role {
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'leasehold lease events: read the lease table stream, publish lease events',
    });
    this.logGroup.grantWrite(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...EVENTS_STREAM_ACTIONS], resources: [streamArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...EVENTS_BUS_ACTIONS], resources: [this.eventBus.eventBusArn] }));
    // Stream records of a table under a customer-managed key are encrypted with it.
    table.encryptionKey?.grantDecrypt(role);
    return role;
  }

  /**
   * Events published: Sum over 1 minute. Zero while leadership does not change, however often
   * the leaders renew.
   */
  metricEventsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.eventsMetric(LeaseEventsMetric.published, cloudwatch.Stats.SUM, props);
  }

  /**
   * Events an invocation could not publish after resending them: Lambda resends its batch from
   * that event. Sum over 1 minute; no data when none failed.
   */
  metricEventsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.eventsMetric(LeaseEventsMetric.failed, cloudwatch.Stats.SUM, props);
  }

  /**
   * Batches Lambda gave up on (after `retryAttempts`, or once their records left the stream): the
   * changes in them were never announced. The dead-letter queue's `NumberOfMessagesSent`, Sum
   * over 1 minute.
   */
  metricBatchesAbandoned(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricNumberOfMessagesSent({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1), ...props });
  }

  /**
   * How far behind the stream the function is: the age of the last record of each batch when it
   * was handed over, in ms. Grows while a failing event holds up the rest. Lambda `IteratorAge`,
   * Maximum over 1 minute.
   */
  metricIteratorAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1), ...props });
  }

  /** Failed invocations (a misconfigured stream, a crash): Lambda `Errors`, Sum over 5 minutes. */
  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5), ...props });
  }

  private eventsMetric(metricName: string, statistic: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
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

/**
 * The stream's view type, where this app defines the table: anything but new and old images
 * cannot tell an acquisition from a renewal. An imported table's stream is checked at run time.
 */
function streamViewTypeProblems(table: dynamodb.ITable): string[] {
  const cfn = table.node.defaultChild;
  const spec = cfn instanceof dynamodb.CfnTable || cfn instanceof dynamodb.CfnGlobalTable ? cfn.streamSpecification : undefined;
  const viewType = spec && !Token.isUnresolved(spec) ? (spec as { streamViewType?: string }).streamViewType : undefined;
  return viewType === undefined || viewType === dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
    ? []
    : [`LeaseEvents: the table's stream must be NEW_AND_OLD_IMAGES, not ${viewType}: only both images tell an acquisition from a renewal`];
}
