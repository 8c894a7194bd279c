import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  LeaderElection,
  LeaseEvents,
  LeaseEventsMetric,
  LeaseReaper,
  LeaseTable,
  REAPER_METRICS_NAMESPACE,
  type LeaderElectionProps,
  type LeaseEventsProps,
} from '../../lib/cdk/index.js';
import { metricsOf, templateOf, testApp, testStack } from './synth.js';

const NEW_AND_OLD = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES;

function eventsIn(stack: Stack, options: Omit<LeaseEventsProps, 'table'> = {}): LeaseEvents {
  return new LeaseEvents(stack, 'Events', { table: new LeaseTable(stack, 'Leases', { stream: NEW_AND_OLD }).table, ...options });
}

const tableRef = { Ref: Match.stringLikeRegexp('^Leases[0-9A-F]{8}$') };
const streamArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Leases[0-9A-F]{8}$'), 'StreamArn'] };
const defaultBusArn = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
  ],
};

/** Every IAM statement in the template, flattened, as `{ Action, Resource }`. */
function statementsOf(template: Template): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
  );
}

describe('LeaseEvents', () => {
  it('runs the bundled lease events handler on Node.js 22 with the bus and its metrics service in its environment', () => {
    const stack = testStack();
    eventsIn(stack);
    templateOf(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 30,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^EventsLogs') } },
      Environment: {
        Variables: { LEASEHOLD_EVENT_BUS_NAME: 'default', POWERTOOLS_METRICS_NAMESPACE: 'Leasehold', POWERTOOLS_SERVICE_NAME: tableRef },
      },
    });
  });

  it('reads the stream one batch per shard at a time, from the latest record, with partial batch failures, bisection, retries and a dead-letter queue', () => {
    const stack = testStack();
    eventsIn(stack);
    const template = templateOf(stack);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: streamArn,
      FunctionName: { Ref: Match.stringLikeRegexp('^EventsFunction') },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      // No limit: a failing event holds up the rest, in order, until its record leaves the stream.
      MaximumRetryAttempts: Match.absent(),
      MaximumRecordAgeInSeconds: Match.absent(),
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsDeadLetterQueue'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it("may read that table's stream, publish to that bus, send to its queue and write its logs, and nothing else", () => {
    const stack = testStack();
    eventsIn(stack);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsLogs'), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
            Resource: streamArn,
          },
          { Effect: 'Allow', Action: 'events:PutEvents', Resource: defaultBusArn },
          {
            Effect: 'Allow',
            Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsDeadLetterQueue'), 'Arn'] },
          },
        ],
      },
    });
    const wildcards = statementsOf(template).filter((statement) => JSON.stringify(statement.Resource).includes('"*"'));
    expect(wildcards).toEqual([]);
  });

  it('may decrypt the stream of a table under a customer-managed key', () => {
    const stack = testStack();
    const encryptionKey = new kms.Key(stack, 'Key');
    new LeaseEvents(stack, 'Events', { table: new LeaseTable(stack, 'Leases', { stream: NEW_AND_OLD, encryptionKey }).table });
    const actions = statementsOf(templateOf(stack)).flatMap((statement) => statement.Action);
    expect(actions).toContain('kms:Decrypt');
    expect(actions).not.toContain('kms:Encrypt');
  });

  it('takes a bus, a batch size, a batching window, retries, a timeout, memory and a dead-letter queue', () => {
    const stack = testStack();
    const bus = new events.EventBus(stack, 'Bus');
    const queue = new sqs.Queue(stack, 'Lost');
    eventsIn(stack, {
      eventBus: bus,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(5),
      retryAttempts: 3,
      timeout: Duration.seconds(60),
      memorySize: 512,
      deadLetterQueue: queue,
    });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 5,
      MaximumRetryAttempts: 3,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Lost'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      MemorySize: 512,
      Environment: { Variables: Match.objectLike({ LEASEHOLD_EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^Bus') } }) },
    });
    template.resourceCountIs('AWS::SQS::Queue', 1);
    expect(statementsOf(template)).toContainEqual(
      expect.objectContaining({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Bus/), 'Arn'] } }),
    );
  });

  it('reads its metrics in the Leasehold namespace, one series per table, and Lambda and SQS metrics', () => {
    const stack = testStack();
    const publisher = eventsIn(stack);
    const ours = metricsOf(publisher).filter((metric) => metric.namespace === REAPER_METRICS_NAMESPACE);
    expect(ours.map((metric) => metric.metricName).sort()).toEqual(Object.values(LeaseEventsMetric).sort());
    for (const metric of ours) {
      expect(metric.dimensions).toEqual({ service: expect.anything() });
      expect(metric.period.toMinutes()).toBe(1);
    }
    expect(publisher.metricEventsFailed()).toMatchObject({ metricName: 'LeaseEventsFailed', statistic: cloudwatch.Stats.SUM });
    expect(publisher.metricIteratorAge()).toMatchObject({ namespace: 'AWS/Lambda', metricName: 'IteratorAge', statistic: cloudwatch.Stats.MAXIMUM });
    expect(publisher.metricBatchesAbandoned()).toMatchObject({ namespace: 'AWS/SQS', metricName: 'NumberOfMessagesSent', statistic: cloudwatch.Stats.SUM });
    expect(publisher.metricErrors().period.toMinutes()).toBe(5);
  });

  it.each<[string, (stack: Stack) => void, string]>([
    ['a table without a stream', (stack) => new LeaseEvents(stack, 'Events', { table: new LeaseTable(stack, 'Leases').table }), 'LeaseEventsProps.table: must have a stream'],
    ['a timeout shorter than its last send needs', (stack) => eventsIn(stack, { timeout: Duration.seconds(9) }), 'LeaseEventsProps.timeout: must be at least 10 seconds'],
    ['too many records per batch', (stack) => eventsIn(stack, { batchSize: 10_001 }), 'LeaseEventsProps.batchSize: must be between 1 and 10000, got 10001'],
    [
      'an unknown prop',
      (stack) => eventsIn(stack, { parallelizationFactor: 2 } as Omit<LeaseEventsProps, 'table'>),
      'LeaseEventsProps.parallelizationFactor: unknown prop; expected one of table, eventBus, batchSize, maxBatchingWindow, retryAttempts, timeout, ' +
        'memorySize, logRetention, deadLetterQueue',
    ],
  ])('refuses %s, naming the prop', (_case, build, message) => {
    expect(() => build(testStack())).toThrow(message);
  });

  it.each([dynamodb.StreamViewType.KEYS_ONLY, dynamodb.StreamViewType.NEW_IMAGE])(
    'refuses at synth a %s stream, which cannot tell an acquisition from a renewal',
    (stream) => {
      const stack = testStack();
      new LeaseEvents(stack, 'Events', { table: new LeaseTable(stack, 'Leases', { stream }).table });
      expect(() => templateOf(stack)).toThrow(`the table's stream must be NEW_AND_OLD_IMAGES, not ${stream}`);
    },
  );

  it('follows a multi-Region strongly consistent table, whose stream needs no replacement to turn on', () => {
    const stack = testStack({ env: { region: 'us-east-1', account: '111111111111' } });
    const leases = new LeaseTable(stack, 'Leases', { replicaRegions: ['us-east-2', 'us-west-2'], stream: NEW_AND_OLD });
    new LeaseEvents(stack, 'Events', { table: leases.table });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'StreamArn'] } });
  });
});

describe('LeaseReaper without events of its own', () => {
  it('tells its function not to publish, and may not publish', () => {
    const stack = testStack();
    new LeaseReaper(stack, 'Reaper', { table: new LeaseTable(stack, 'Leases').table, publishEvents: false });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_REAPER_PUBLISH_EVENTS: 'false' }) },
    });
    expect(statementsOf(template).flatMap((statement) => statement.Action)).not.toContain('events:PutEvents');
  });
});

describe('LeaderElection with events', () => {
  const withEvents = (props: LeaderElectionProps = {}) => {
    const stack = testStack();
    const election = new LeaderElection(stack, 'Election', { events: true, ...props });
    return { election, template: templateOf(stack) };
  };

  it('gives its table a stream of new and old images, which it has none of without events', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election');
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: Match.absent() });
    withEvents().template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    withEvents({ table: { stream: NEW_AND_OLD } }).template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  });

  it('adds the stream publisher on its table, and turns the reaper’s own Lease Expired events off, so each expiry is announced once', () => {
    const { election, template } = withEvents();
    expect(election.events).toBeInstanceOf(LeaseEvents);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ElectionTable'), 'StreamArn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_TABLE_NAME: Match.anyValue(), LEASEHOLD_REAPER_PUBLISH_EVENTS: 'false' }) },
    });
    const publishers = statementsOf(template).filter((statement) => [statement.Action].flat().includes('events:PutEvents'));
    expect(publishers).toHaveLength(1);
  });

  it('without events, has no publisher and leaves the reaper publishing', () => {
    const stack = testStack();
    const election = new LeaderElection(stack, 'Election');
    expect(election.events).toBeUndefined();
    expect(election.eventsAbandonedAlarm).toBeUndefined();
    const template = templateOf(stack);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_REAPER_PUBLISH_EVENTS: Match.absent() }) },
    });
  });

  it('alarms on events the publisher could not publish, on a publisher behind the stream, and on batches Lambda gave up on', () => {
    const { election, template } = withEvents();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Leasehold',
      MetricName: 'LeaseEventsFailed',
      Dimensions: [{ Name: 'service', Value: { Ref: Match.stringLikeRegexp('^ElectionTable') } }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ElectionEventsDeadLetterQueue'), 'QueueName'] } }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^ElectionEventsFunction') } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 300_000,
      TreatMissingData: 'notBreaching',
    });
    expect(election.metricEventsFailed().metricName).toBe('LeaseEventsFailed');
    expect(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ReapEventsFailed' } })).toEqual({});
  });

  it('gives every alarm, the publisher’s too, the alarm actions', () => {
    const stack = testStack();
    const topic = new sns.Topic(stack, 'Pager');
    new LeaderElection(stack, 'Election', { events: true, alarmActions: [new actions.SnsAction(topic)] });
    const alarms = Object.values(templateOf(stack).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) expect(alarm).toMatchObject({ Properties: { AlarmActions: [{ Ref: expect.stringMatching(/^Pager/) }] } });
  });

  it('passes the publisher options through', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election', { events: { batchSize: 25, retryAttempts: 2 } });
    templateOf(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 25, MaximumRetryAttempts: 2 });
  });

  it.each<[string, LeaderElectionProps, string]>([
    ['a stream without old images', { table: { stream: dynamodb.StreamViewType.NEW_IMAGE } }, 'LeaderElectionProps.table.stream: must be NEW_AND_OLD_IMAGES with events'],
    ['a reaper told to publish too', { reaper: { publishEvents: true } }, 'LeaderElectionProps.reaper.publishEvents: must not be true with events'],
  ])('refuses %s', (_case, props, message) => {
    expect(() => withEvents(props)).toThrow(message);
  });

  it('raises no cdk-nag finding beyond those a bare LeaderElection raises', () => {
    const app = testApp();
    new LeaderElection(new Stack(app, 'WithEvents'), 'Election', { events: true });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions/);
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    const findings = report.pluginReports.flatMap((plugin) => plugin.violations.map((violation) => violation.ruleName));
    expect(new Set(findings)).toEqual(new Set(['AwsSolutions-L1', 'AwsSolutions-SQS3']));
  });

  const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  // cfn-lint is a Python tool, not an npm dependency; CI machines have it preinstalled.
  it.skipIf(cfnLint.status !== 0).each<[string, StackProps, LeaderElectionProps]>([
    ['a single-Region table', {}, { events: true }],
    ['a multi-Region strongly consistent table', { env: { region: 'us-east-1', account: '111111111111' } }, { events: true, table: { replicaRegions: ['us-east-2', 'us-west-2'] } }],
  ])('synthesizes, on %s, a template cfn-lint finds no error in', (_case, stackProps, props) => {
    const stack = testStack(stackProps);
    new LeaderElection(stack, 'Election', props);
    const template = (stack.node.root as App).synth().getStackByName(stack.stackName).templateFullPath;
    const lint = spawnSync('cfn-lint', ['--format', 'json', template], { encoding: 'utf8' });
    // 0: clean; 4: warnings only (CDK templates raise W3005, a DependsOn that a GetAtt already implies).
    expect([0, 4], lint.stderr).toContain(lint.status);
    const findings = JSON.parse(lint.stdout || '[]') as { Level: string }[];
    expect(findings.filter((finding) => finding.Level === 'Error')).toEqual([]);
  }, 60_000);
});
