/**
 * The reaper Lambda handler as Lambda runs it: configured by environment variables, pointed at
 * DynamoDB Local and at moto's EventBridge through the SDK's standard endpoint variables, and
 * invoked with a real scheduled event. The event it publishes is read back through an
 * EventBridge rule that delivers to an SQS queue.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, ManualClock } from '../lib/index.js';
import { DEFAULT_SKEW_MS } from '../lib/core/defaults.js';
import { readReaperConfig } from '../lib/serverless/index.js';
import { startMoto, type LocalAws } from '../harness/local/local-aws.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

const scheduledEvent: ScheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-22T12:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/leasehold-reaper'],
  detail: {},
};

describe('the reaper Lambda handler', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('reaper-handler');
  const client = clientFor(backend);
  let aws: LocalAws;
  let queueUrl: string;

  beforeAll(async () => {
    aws = await startMoto();
    const sqs = new SQSClient(aws.clientConfig);
    ({ QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'lease-events' })));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    const events = new EventBridgeClient(aws.clientConfig);
    await events.send(new PutRuleCommand({ Name: 'lease-expired', EventPattern: JSON.stringify({ source: ['leasehold'] }) }));
    await events.send(new PutTargetsCommand({ Rule: 'lease-expired', Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }));
    await createLeaseTable(client, tableName);
  }, 60_000);
  const savedEnv = { ...process.env };
  afterAll(async () => {
    process.env = savedEnv;
    client.destroy();
    await aws?.stop();
  });

  it('reaps an expired lease and publishes one Lease Expired event for it', async () => {
    const longAgo = new ManualClock({ wallStart: Date.now() - 3_600_000 });
    await new LeaseClient({ tableName, client, holderId: 'crashed-worker', clock: longAgo }).tryAcquire('nightly', { leaseMs: 10_000 });
    await new LeaseClient({ tableName, client, holderId: 'live-worker' }).tryAcquire('hourly', { leaseMs: 600_000 });
    Object.assign(process.env, {
      LEASEHOLD_TABLE_NAME: tableName,
      LEASEHOLD_SKEW_MS: '1000',
      AWS_ENDPOINT_URL_DYNAMODB: backend.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: aws.endpoint,
      AWS_ACCESS_KEY_ID: 'leasehold',
      AWS_SECRET_ACCESS_KEY: 'leasehold',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    });
    const { handler } = await import('../lambda/reaper.js');
    const context = { functionName: 'leasehold-reaper', awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

    const summary = await handler(scheduledEvent, context);
    expect(summary).toMatchObject({ scanned: 1, reaped: 1, raced: 0, eventsFailed: 0, stoppedEarly: false });
    const observer = new LeaseClient({ tableName, client });
    expect((await observer.describe('nightly'))?.state).toBe('expired');
    expect((await observer.describe('hourly'))?.state).toBe('held');

    const sqs = new SQSClient(aws.clientConfig);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }));
    const delivered = Messages.map((m) => JSON.parse(m.Body!) as { source: string; 'detail-type': string; detail: Record<string, unknown> });
    expect(delivered).toEqual([
      expect.objectContaining({
        source: 'leasehold',
        'detail-type': 'Lease Expired',
        detail: expect.objectContaining({ name: 'nightly', holderId: 'crashed-worker', fencingToken: 1 }),
      }),
    ]);
  }, 60_000);
});

describe('readReaperConfig', () => {
  it('reads the construct\'s variables, the bus defaulting to the account\'s default', () => {
    expect(readReaperConfig({ LEASEHOLD_TABLE_NAME: 't', LEASEHOLD_SKEW_MS: '250', LEASEHOLD_EVENT_BUS_NAME: 'default' })).toEqual({
      tableName: 't',
      skewMs: 250,
      eventBusName: undefined,
    });
  });
  it("defaults the skew to the clients' default skew allowance", () => {
    expect(readReaperConfig({ LEASEHOLD_TABLE_NAME: 't' }).skewMs).toBe(DEFAULT_SKEW_MS);
  });
  it.each([
    ['a missing table name', 'LEASEHOLD_TABLE_NAME', {}],
    ['a skew that is not a number', 'LEASEHOLD_SKEW_MS', { LEASEHOLD_TABLE_NAME: 't', LEASEHOLD_SKEW_MS: '1s' }],
    ['a negative skew', 'LEASEHOLD_SKEW_MS', { LEASEHOLD_TABLE_NAME: 't', LEASEHOLD_SKEW_MS: '-5' }],
  ])('rejects %s, naming %s', (_what, variable, env) => {
    expect(() => readReaperConfig(env)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument: variable }));
  });
});
