/**
 * The reaper exactly as `cdk deploy` ships it: the pre-bundled `.mjs` file as the cloud assembly
 * holds it, with the environment the construct gives it, invoked in-process with a
 * scheduled event against each local DynamoDB, publishing to moto's EventBridge.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateArchiveCommand, DescribeArchiveCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseReaper, REAPER_METRICS_NAMESPACE, ReaperMetric } from '../../lib/cdk/index.js';
import { ManualClock } from '../../lib/core/clock.js';
import { LeaseClient } from '../../lib/core/lease-client.js';
import { createLeaseTable } from '../../lib/core/table.js';
import { ReaperEnvironment } from '../../lib/serverless/reaper-config.js';
import { REAPER_BUNDLE } from '../../harness/local/bundle-lambdas.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, startMoto, type LocalAws } from '../../harness/local/local-aws.js';
import { backends, clientFor, uniqueTableName, type Backend } from '../support/backends.js';
import { emfDocuments, emittedMetrics, lambdaContext, withEnvironment } from './lambda-run.js';
import { metricsOf } from './synth.js';

/** One name on every backend: the bundle's environment is synthesized once. */
const TABLE_NAME = uniqueTableName('reaper-bundle');

type Handler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

interface Bundle {
  /** The bundled handler file in the cloud assembly. */
  readonly file: string;
  /** The function's environment as synthesized. */
  readonly environment: Record<string, string>;
  /** The construct that deploys it, for the metrics its alarms and dashboards read. */
  readonly reaper: LeaseReaper;
}

interface SynthesizedFunction {
  readonly Type: string;
  readonly Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> } };
}

/** Synthesizes a LeaseReaper and finds its asset in the cloud assembly. */
function synthesizeReaper(outdir: string): Bundle {
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Bundle');
  const reaper = new LeaseReaper(stack, 'Reaper', { table: dynamodb.Table.fromTableName(stack, 'Leases', TABLE_NAME) });
  const template = app.synth().getStackByName('Bundle').template as { Resources: Record<string, SynthesizedFunction> };
  const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function');
  if (!fn) throw new Error('no function in the synthesized template');
  const assetHash = fn.Properties.Code.S3Key.replace(/\.zip$/, '');
  const variables = fn.Properties.Environment.Variables;
  // Everything but the bus is a literal here; the default bus's name is `default` either way.
  const environment = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(value)]));
  return { file: join(outdir, `asset.${assetHash}`, 'index.mjs'), environment, reaper };
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/leasehold-reaper`],
    detail: {},
  };
}

// DynamoDB servers on loopback only: a real endpoint would need real EventBridge credentials too.
const localBackends = backends().filter((backend) => backend.name !== 'endpoint');

describe('the bundled reaper from cdk.out', () => {
  let outdir: string;
  let bundle: Bundle;
  let moto: LocalAws;
  let events: EventBridgeClient;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'leasehold-bundle-'));
    bundle = synthesizeReaper(outdir);
    moto = await startMoto();
    events = new EventBridgeClient(moto.clientConfig);
  }, 120_000);

  afterAll(async () => {
    events?.destroy();
    await moto?.stop();
    rmSync(outdir, { recursive: true, force: true });
  });

  /**
   * Runs the bundle once, as a fresh module instance named by `instance` (the handler reads its
   * configuration at cold start), with the synthesized environment and `overrides`, against
   * `backend` and moto's EventBridge.
   */
  async function invokeBundle(instance: string, backend: Backend, overrides: Record<string, string> = {}) {
    const env = {
      ...bundle.environment,
      ...overrides,
      AWS_ENDPOINT_URL_DYNAMODB: backend.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: moto.endpoint,
      AWS_ACCESS_KEY_ID: moto.clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.clientConfig.credentials.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
    };
    return withEnvironment(env, async () => {
      const { handler } = (await import(`${pathToFileURL(bundle.file).href}?${instance}`)) as { handler: Handler };
      return handler(scheduledEvent(), lambdaContext(25_000));
    });
  }

  it('is the one pre-bundled ES module file, deployed as built: nothing bundled at synth, no map of missing sources', () => {
    expect(readdirSync(dirname(bundle.file))).toEqual(['index.mjs']);
    expect(readFileSync(bundle.file).equals(readFileSync(REAPER_BUNDLE))).toBe(true);
  });

  describe.each(localBackends)('on $name', (backend) => {
    const dead = `dead-${backend.name}`;
    const live = `live-${backend.name}`;
    const archive = `reaped-${backend.name}`;
    let client: DynamoDBClient;
    let observer: LeaseClient;
    let deadToken: number | undefined;
    let run: { result: unknown; stdout: string };

    beforeAll(async () => {
      client = clientFor(backend);
      await createLeaseTable(client, TABLE_NAME);
      // An hour in the past on the wall clock: this lease expired long ago.
      const past = new ManualClock({ wallStart: Date.now() - 3_600_000 });
      const deadHolder = new LeaseClient({ tableName: TABLE_NAME, client, clock: past, holderId: 'dead-holder' });
      deadToken = (await deadHolder.tryAcquire(dead, { leaseMs: 10_000 }))?.fencingToken;
      // Now on the wall clock, with timers that never fire: this one stays held throughout.
      const now = new ManualClock({ wallStart: Date.now() });
      observer = new LeaseClient({ tableName: TABLE_NAME, client, clock: now, holderId: 'live-holder' });
      await observer.tryAcquire(live, { leaseMs: 600_000 });
      await events.send(
        new CreateArchiveCommand({
          ArchiveName: archive,
          EventSourceArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/default`,
          EventPattern: JSON.stringify({ source: ['leasehold'], 'detail-type': ['Lease Expired'] }),
        }),
      );
      run = await invokeBundle(`backend=${backend.name}`, backend);
    }, 60_000);

    afterAll(() => client?.destroy());

    it('reports one lease reaped and no event lost', () => {
      expect(run.result).toMatchObject({ reaped: 1, raced: 0, eventsFailed: 0, stoppedEarly: false });
    });

    it('marks the expired lease expired, keeping its fencing token', async () => {
      expect(deadToken).toBeDefined();
      expect(await observer.describe(dead)).toMatchObject({ state: 'expired', holderId: 'dead-holder', fencingToken: deadToken });
    });

    it('leaves the live lease held', async () => {
      expect(await observer.describe(live)).toMatchObject({ state: 'held', holderId: 'live-holder' });
    });

    it('publishes one Lease Expired event to the default bus', async () => {
      expect(await events.send(new DescribeArchiveCommand({ ArchiveName: archive }))).toMatchObject({ EventCount: 1 });
    });

    /** The reaper's metrics document of this run. */
    const reaperMetrics = () =>
      emfDocuments(run.stdout).find((doc) =>
        doc._aws.CloudWatchMetrics.some((set) => set.Metrics.some((metric) => metric.Name === ReaperMetric.leasesReaped)),
      );

    it('emits LeasesReaped where the alarms read it: the Leasehold namespace, the table as service', () => {
      const [metricSet] = reaperMetrics()?._aws.CloudWatchMetrics ?? [];
      expect(metricSet).toMatchObject({ Namespace: REAPER_METRICS_NAMESPACE, Dimensions: [['service']] });
      expect(reaperMetrics()).toMatchObject({ service: TABLE_NAME, [ReaperMetric.leasesReaped]: 1 });
    });

    it('emits LeaderlessMs: how long the reaped lease had gone without a holder (about an hour here)', () => {
      expect(reaperMetrics()?.[ReaperMetric.leaderlessMs]).toBeGreaterThanOrEqual(3_600_000 - 10_000);
    });
  });

  // Every metric the handler writes must be one the construct's alarms and metric…() methods
  // read: a name written on one side only would be a series no alarm ever watches.
  describe('and the construct, on one set of metric names', () => {
    const backend = localBackends[0]!;
    const tableName = uniqueTableName('reaper-metrics');
    let client: DynamoDBClient;
    let run: { result: unknown; stdout: string };

    beforeAll(async () => {
      client = clientFor(backend);
      await createLeaseTable(client, tableName);
      const past = new ManualClock({ wallStart: Date.now() - 3_600_000 });
      await new LeaseClient({ tableName, client, clock: past, holderId: 'dead-holder' }).tryAcquire('unannounced', { leaseMs: 10_000 });
      run = await invokeBundle('case=missing-bus', backend, {
        [ReaperEnvironment.tableName]: tableName,
        // No such bus: the reaped lease's event cannot be published, so the run emits ReapEventsFailed too.
        [ReaperEnvironment.eventBusName]: `missing-${backend.name}`,
      });
    }, 60_000);

    afterAll(() => client?.destroy());

    it('a run that reaps a lease and cannot announce it emits every reaper metric', () => {
      expect(run.result).toMatchObject({ reaped: 1, eventsFailed: 1 });
      expect(emittedMetrics(run.stdout).names).toEqual(Object.values(ReaperMetric).sort());
    });

    it('emits only metrics the construct reads, in the namespace it reads them from', () => {
      const read = metricsOf(bundle.reaper).filter((metric) => metric.namespace === REAPER_METRICS_NAMESPACE);
      const emitted = emittedMetrics(run.stdout);
      expect(emitted.namespaces).toEqual([REAPER_METRICS_NAMESPACE]);
      expect(emitted.names.filter((name) => !read.some((metric) => metric.metricName === name))).toEqual([]);
    });
  });
});
