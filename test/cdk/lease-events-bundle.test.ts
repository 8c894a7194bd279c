/**
 * The lease events function exactly as `cdk deploy` ships it with `LeaderElection({ events: true })`:
 * the pre-bundled `.mjs` file as the cloud assembly holds it, with the environment the construct
 * gives it, invoked in-process with real records of the table's stream on DynamoDB Local, publishing
 * to moto's EventBridge, which delivers to an SQS queue the test reads. Beside it the reaper,
 * bundled and configured by the same construct, marks a lease expired and publishes nothing: the
 * stream publisher announces that expiry, once. dynalite has no streams: skipped there by name.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App, Stack } from 'aws-cdk-lib';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElection, LeaseEventsMetric, REAPER_METRICS_NAMESPACE } from '../../lib/cdk/index.js';
import { ManualClock } from '../../lib/core/clock.js';
import { LeaseClient } from '../../lib/core/lease-client.js';
import { createLeaseTable } from '../../lib/core/table.js';
import { LeaseEventsEnvironment } from '../../lib/serverless/lease-events-config.js';
import { LEASE_EVENTS_BUNDLE } from '../../harness/local/bundle-lambdas.js';
import { LOCAL_REGION, startMoto, type LocalAws } from '../../harness/local/local-aws.js';
import { backends, clientFor, uniqueTableName, type Backend } from '../support/backends.js';
import { enableStream, readWholeStream } from '../support/table-stream.js';
import { emfDocuments, emittedMetrics, lambdaContext, withEnvironment } from './lambda-run.js';
import { metricsOf } from './synth.js';

/** One name on every backend: the functions' environments are synthesized once. */
const TABLE_NAME = uniqueTableName('events-bundle');

interface SynthesizedFunction {
  readonly Type: string;
  readonly Properties: { Code: { S3Key: string }; Description: string; Environment: { Variables: Record<string, unknown> } };
}

interface Bundled {
  /** The bundled handler file in the cloud assembly. */
  readonly file: string;
  /** The function's environment as synthesized, the table's name in place of its reference. */
  readonly environment: Record<string, string>;
}

/** Synthesizes a LeaderElection with events and finds each function's asset and environment. */
function synthesize(outdir: string): { election: LeaderElection; reaper: Bundled; publisher: Bundled } {
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Bundle');
  const election = new LeaderElection(stack, 'Election', { events: true, table: { tableName: TABLE_NAME } });
  const template = app.synth().getStackByName('Bundle').template as { Resources: Record<string, SynthesizedFunction> };
  const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
  const bundled = (description: RegExp): Bundled => {
    const fn = functions.find((candidate) => description.test(candidate.Properties.Description));
    if (!fn) throw new Error(`no function described ${description} in the synthesized template`);
    // The table's name is a reference to the table, which is named TABLE_NAME; the rest are literals.
    const environment = Object.fromEntries(
      Object.entries(fn.Properties.Environment.Variables).map(([key, value]) => [key, typeof value === 'string' ? value : TABLE_NAME]),
    );
    return { file: join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'), environment };
  };
  return { election, reaper: bundled(/reaper/), publisher: bundled(/lease events/) };
}

const localBackends = backends().filter((backend) => backend.name !== 'endpoint');

describe('the bundled lease events function from cdk.out', () => {
  let outdir: string;
  let synthesized: ReturnType<typeof synthesize>;
  let moto: LocalAws;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'leasehold-events-bundle-'));
    synthesized = synthesize(outdir);
    moto = await startMoto();
  }, 120_000);

  afterAll(async () => {
    await moto?.stop();
    rmSync(outdir, { recursive: true, force: true });
  });

  /** Runs a bundle once, as a fresh module instance named by `instance`, with its environment and `overrides`. */
  async function invoke<E, R>(bundled: Bundled, instance: string, backend: Backend, event: E, overrides: Record<string, string> = {}) {
    const env = {
      ...bundled.environment,
      ...overrides,
      AWS_ENDPOINT_URL_DYNAMODB: backend.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: moto.endpoint,
      AWS_ACCESS_KEY_ID: moto.clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.clientConfig.credentials.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
    };
    return withEnvironment(env, async () => {
      const { handler } = (await import(`${pathToFileURL(bundled.file).href}?${instance}`)) as { handler: (event: E, context: Context) => Promise<R> };
      return handler(event, lambdaContext(25_000, 'leasehold-lease-events'));
    });
  }

  it('is the one pre-bundled ES module file, deployed as built', () => {
    expect(readdirSync(dirname(synthesized.publisher.file))).toEqual(['index.mjs']);
    expect(readFileSync(synthesized.publisher.file).equals(readFileSync(LEASE_EVENTS_BUNDLE))).toBe(true);
  });

  describe.each(localBackends)('on $name', (backend) => {
    describe.skipIf(!backend.features.streams)('a lease that expires, is taken over, renewed and released (needs streams)', () => {
      let client: DynamoDBClient;
      let sqs: SQSClient;
      let queueUrl: string;
      let records: DynamoDBRecord[];
      let reaped: { result: unknown };
      let reaperDelivered: unknown[];
      let published: { result: DynamoDBBatchResponse; stdout: string };
      let delivered: { 'detail-type': string; source: string; detail: Record<string, unknown> }[];

      /** Everything the queue holds now: what the rule delivered since the last read. */
      const drain = async () => {
        const bodies: string[] = [];
        for (;;) {
          const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
          if (Messages.length === 0) return bodies.map((body) => JSON.parse(body) as (typeof delivered)[number]);
          bodies.push(...Messages.map((message) => message.Body ?? ''));
        }
      };

      beforeAll(async () => {
        client = clientFor(backend);
        await createLeaseTable(client, TABLE_NAME);
        const streamArn = await enableStream(client, TABLE_NAME);
        sqs = new SQSClient(moto.clientConfig);
        ({ QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `lease-events-${backend.name}` })));
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
        const events = new EventBridgeClient(moto.clientConfig);
        const rule = `lease-events-${backend.name}`;
        await events.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify({ source: ['leasehold'] }) }));
        await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }));
        events.destroy();

        // An hour in the past on the wall clock: this holder's lease expired long ago.
        const past = new ManualClock({ wallStart: Date.now() - 3_600_000 });
        await new LeaseClient({ tableName: TABLE_NAME, client, clock: past, holderId: 'dead-holder' }).tryAcquire('nightly', { leaseMs: 10_000 });
        reaped = await invoke<ScheduledEvent, unknown>(synthesized.reaper, `reaper-${backend.name}`, backend, scheduledTick());
        reaperDelivered = await drain();

        const live = await new LeaseClient({ tableName: TABLE_NAME, client, holderId: 'live-holder' }).tryAcquire('nightly', { leaseMs: 60_000 });
        await live!.renew();
        await live!.release();
        records = await readWholeStream(backend, client, TABLE_NAME, streamArn);
        published = await invoke<DynamoDBStreamEvent, DynamoDBBatchResponse>(synthesized.publisher, `events-${backend.name}`, backend, { Records: records });
        delivered = await drain();
      }, 120_000);

      afterAll(() => {
        client?.destroy();
        sqs?.destroy();
      });

      it('has the reaper, configured by LeaderElection with events, mark the lease expired and publish nothing itself', () => {
        expect(synthesized.reaper.environment).toMatchObject({ LEASEHOLD_REAPER_PUBLISH_EVENTS: 'false' });
        expect(reaped.result).toMatchObject({ reaped: 1, eventsFailed: 0 });
        expect(reaperDelivered).toEqual([]);
      });

      it('publishes each change once, in order, with the reaper’s expiry among them, and nothing for the renewal', () => {
        expect(published.result).toEqual({ batchItemFailures: [] });
        expect(delivered.map((event) => [event.source, event['detail-type'], event.detail.fencingToken, event.detail.holderId])).toEqual([
          ['leasehold', 'Lease Acquired', 1, 'dead-holder'],
          ['leasehold', 'Lease Expired', 1, 'dead-holder'],
          ['leasehold', 'Lease Acquired', 2, 'live-holder'],
          ['leasehold', 'Lease Released', 2, 'live-holder'],
        ]);
        expect(delivered[2]?.detail).toMatchObject({ name: 'nightly', previousHolderId: 'dead-holder' });
      });

      it('emits LeaseEventsPublished where the alarms read it: the Leasehold namespace, the table as service', () => {
        const document = emfDocuments(published.stdout).find((doc) => LeaseEventsMetric.published in doc);
        expect(document?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: REAPER_METRICS_NAMESPACE, Dimensions: [['service']] });
        expect(document).toMatchObject({ service: TABLE_NAME, [LeaseEventsMetric.published]: 4 });
      });

      it('names the first event it cannot publish as the batch item failure, and emits every metric the construct reads', async () => {
        const failing = await invoke<DynamoDBStreamEvent, DynamoDBBatchResponse>(
          synthesized.publisher,
          `missing-bus-${backend.name}`,
          backend,
          { Records: records },
          { [LeaseEventsEnvironment.eventBusName]: `missing-${backend.name}` },
        );
        expect(failing.result).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber }] });
        const emitted = emittedMetrics(published.stdout + failing.stdout);
        expect(emitted.names).toEqual(Object.values(LeaseEventsMetric).sort());
        expect(emitted.namespaces).toEqual([REAPER_METRICS_NAMESPACE]);
        const read = metricsOf(synthesized.election.events!).filter((metric) => metric.namespace === REAPER_METRICS_NAMESPACE);
        expect(emitted.names.filter((name) => !read.some((metric) => metric.metricName === name))).toEqual([]);
      }, 60_000);
    });
  });
});

function scheduledTick(): ScheduledEvent {
  return {
    version: '0',
    id: 'tick',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [],
    detail: {},
  };
}
