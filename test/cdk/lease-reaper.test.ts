import { Duration, type Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { LeaseReaper, LeaseTable, REAPER_METRICS_NAMESPACE, ReaperMetric, type LeaseReaperProps } from '../../lib/cdk/index.js';
import { DEFAULT_SKEW_MS } from '../../lib/core/defaults.js';
import { ReaperIndex } from '../../lib/core/schema.js';
import { metricsOf, templateOf, testStack } from './synth.js';

function reaperIn(stack: Stack, options: Omit<LeaseReaperProps, 'table'> = {}, table?: dynamodb.ITable): LeaseReaper {
  return new LeaseReaper(stack, 'Reaper', { table: table ?? new LeaseTable(stack, 'Leases').table, ...options });
}

const tableRef = { Ref: Match.stringLikeRegexp('^Leases[0-9A-F]{8}$') };
const tableArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Leases[0-9A-F]{8}$'), 'Arn'] };
const defaultBusArn = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
  ],
};

describe('LeaseReaper', () => {
  it('runs the reaper handler on Node.js 22 with the table, bus and skew in its environment', () => {
    const stack = testStack();
    reaperIn(stack);
    templateOf(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 30,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^ReaperLogs') } },
      Environment: {
        Variables: {
          LEASEHOLD_TABLE_NAME: tableRef,
          LEASEHOLD_EVENT_BUS_NAME: 'default',
          LEASEHOLD_SKEW_MS: '1000',
          POWERTOOLS_METRICS_NAMESPACE: 'Leasehold',
          POWERTOOLS_SERVICE_NAME: tableRef,
        },
      },
    });
  });

  it('may query the reaper index, update the table, publish to the bus and write its logs, and nothing else', () => {
    const stack = testStack();
    reaperIn(stack);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReaperLogs'), 'Arn'] },
          },
          { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [tableArn, `/index/${ReaperIndex.name}`]] } },
          { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: tableArn },
          { Effect: 'Allow', Action: 'events:PutEvents', Resource: defaultBusArn },
        ],
      },
    });
  });

  it('runs every minute through an EventBridge rule with retries and a dead-letter queue, never retrying a failed run', () => {
    const stack = testStack();
    reaperIn(stack);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReaperFunction'), 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReaperDeadLetterQueue'), 'Arn'] } },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' } }),
        ]),
      },
    });
  });

  it("defaults its skew to the clients' default skew allowance", () => {
    const stack = testStack();
    reaperIn(stack);
    templateOf(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_SKEW_MS: String(DEFAULT_SKEW_MS) }) },
    });
  });

  it('keeps its logs a month by default', () => {
    const stack = testStack();
    reaperIn(stack);
    templateOf(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('takes a schedule, a bus, a skew, a timeout, memory, log retention, retries and a dead-letter queue', () => {
    const stack = testStack();
    const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'leases' });
    const deadLetterQueue = new sqs.Queue(stack, 'MyQueue');
    reaperIn(stack, {
      schedule: events.Schedule.rate(Duration.minutes(5)),
      eventBus: bus,
      skew: Duration.millis(2500),
      timeout: Duration.seconds(50),
      memorySize: 512,
      logRetention: logs.RetentionDays.ONE_WEEK,
      retryAttempts: 0,
      deadLetterQueue,
    });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 50,
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({ LEASEHOLD_EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^Bus') }, LEASEHOLD_SKEW_MS: '2500' }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MyQueue'), 'Arn'] } },
        }),
      ],
    });
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] } },
        ]),
      },
    });
  });

  it('may use a customer-managed key of the table', () => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases', { encryptionKey: new kms.Key(stack, 'Key') });
    reaperIn(stack, {}, leases.table);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']),
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('reaps an existing table given by name', () => {
    const stack = testStack();
    reaperIn(stack, {}, dynamodb.Table.fromTableName(stack, 'Existing', 'my-leases'));
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_TABLE_NAME: 'my-leases' }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'dynamodb:Query',
            Resource: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`:table/my-leases/index/${ReaperIndex.name}$`)])] },
          }),
        ]),
      },
    });
  });

  it.each<[string, Partial<LeaseReaperProps>, string]>([
    ['too many retries', { retryAttempts: 186 }, 'LeaseReaperProps.retryAttempts: must be between 0 and 185, got 186'],
    ['fractional retries', { retryAttempts: 1.5 }, 'LeaseReaperProps.retryAttempts: must be a whole number, got 1.5'],
    ['too little memory', { memorySize: 64 }, 'LeaseReaperProps.memorySize: must be between 128 and 10240, got 64'],
    [
      'an unknown prop',
      { scheduleExpression: 'rate(1 minute)' } as Partial<LeaseReaperProps>,
      'LeaseReaperProps.scheduleExpression: unknown prop; expected one of table, schedule, eventBus, skew, timeout, ' +
        'memorySize, logRetention, retryAttempts, deadLetterQueue',
    ],
  ])('refuses %s, naming the prop', (_case, options, message) => {
    const stack = testStack();
    expect(() => reaperIn(stack, options)).toThrow(message);
  });
});

describe('LeaseReaper metrics', () => {
  it('reads the reaper metrics in the Leasehold namespace, one series per table', () => {
    const stack = testStack();
    const reaper = reaperIn(stack);
    const reaped = reaper.metricLeasesReaped();
    expect(reaped.namespace).toBe('Leasehold');
    expect(reaped.metricName).toBe('LeasesReaped');
    expect(reaped.statistic).toBe(cloudwatch.Stats.SUM);
    expect(reaped.period.toSeconds()).toBe(60);
    expect(stack.resolve(reaped.dimensions)).toEqual({ service: { Ref: expect.stringMatching(/^Leases[0-9A-F]{8}$/) } });
    expect(reaper.metricReapRaces().metricName).toBe('ReapRaces');
    expect(reaper.metricLeaderlessMs()).toMatchObject({ metricName: 'LeaderlessMs', statistic: cloudwatch.Stats.MAXIMUM });
    expect(reaper.metricDuration()).toMatchObject({ metricName: 'ReaperDurationMs', statistic: cloudwatch.Stats.MAXIMUM });
  });

  it('reads the Lease Expired events the reaper could not publish, summed over 1 minute', () => {
    const stack = testStack();
    const failed = reaperIn(stack).metricEventsFailed();
    expect(failed).toMatchObject({ namespace: 'Leasehold', metricName: 'ReapEventsFailed', statistic: cloudwatch.Stats.SUM });
    expect(failed.period.toSeconds()).toBe(60);
    expect(stack.resolve(failed.dimensions)).toEqual({ service: { Ref: expect.stringMatching(/^Leases[0-9A-F]{8}$/) } });
  });

  it('offers a metric for every metric the reaper emits', () => {
    const offered = metricsOf(reaperIn(testStack()))
      .filter((metric) => metric.namespace === REAPER_METRICS_NAMESPACE)
      .map((metric) => metric.metricName);
    expect(offered.sort()).toEqual(Object.values(ReaperMetric).sort());
  });

  it('reads errors and invocations from Lambda, summed over 5 minutes, with overrides', () => {
    const stack = testStack();
    const reaper = reaperIn(stack);
    expect(reaper.metricErrors()).toMatchObject({ namespace: 'AWS/Lambda', metricName: 'Errors', statistic: cloudwatch.Stats.SUM });
    expect(reaper.metricErrors().period.toMinutes()).toBe(5);
    expect(reaper.metricInvocations({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
  });
});
