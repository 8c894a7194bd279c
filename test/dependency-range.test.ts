/**
 * The oldest versions package.json's peer ranges allow still work. The SDK and the CDK are peer
 * dependencies, so the app's own copies are the ones leasehold uses, and their ranges reach back as
 * far as leasehold works: a fresh app installs the packed package beside the floor of every peer
 * range, type-checks a strict consumer against its declarations (skipLibCheck off), runs a lease
 * scenario with its own DynamoDBClient and the CLI against DynamoDB Local, and synthesizes the
 * constructs. A second app installs only the required peers. The newest versions are what the rest
 * of the suite runs on (devDependencies).
 *
 * Only client-dynamodb and lib-dynamodb are required peers. util-dynamodb is an optional one
 * although the library imports it: lib-dynamodb always brings it, and when npm installed it for a
 * required peer it took the newest, whose own peer range excludes any older client
 * (3.996.9 wants client-dynamodb ^3.1111.0), and an app on client 3.901.0 failed with ERESOLVE.
 *
 * Why the floors are where they are:
 * - @aws-sdk/* 3.363.0: the first with `ReturnValuesOnConditionCheckFailure` on UpdateItem. 3.362.0
 *   drops the flag unsent, and every refused acquire costs a second read.
 * - aws-cdk-lib 2.211.0: the first with `TableV2` `multiRegionConsistency` and `witnessRegion`.
 * - constructs 10.0.0, @middy/core 6.0.0, @aws-lambda-powertools/metrics 2.0.0: the first of the
 *   major version; nothing newer is needed. leasehold uses only the types of the last two, so the
 *   app imports Metrics as a type: metrics 2.0.0 no longer loads beside today's Powertools commons.
 *
 * About 30 s with an empty npm cache, most of it the install and the type-check.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../lib/testing/local-dynamodb.js';
import { referenceBackend, uniqueTableName } from './support/backends.js';
import { STRICT_CONSUMER_OPTIONS } from './support/strict-consumer.js';

const ROOT = join(import.meta.dirname, '..');

interface Manifest {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

/**
 * The local servers `leasehold/testing` starts are peers too (so a strict package manager lets it
 * resolve them), but their floors are the versions the whole suite runs on (devDependencies), and
 * DynamoDB Local's package is 65 MB: they are not installed again here.
 */
const TEST_KIT_SERVERS = new Set(['amplify-dynamodb-simulator', 'dynalite']);

/** The lowest version each peer range allows: `^6.0.0 || ^7.0.0` gives 6.0.0. */
function peerFloors(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(MANIFEST.peerDependencies).filter(([name]) => !TEST_KIT_SERVERS.has(name)).map(([name, range]) => {
      const floor = /^\^(\d+\.\d+\.\d+)$/.exec(range.split('||')[0]!.trim())?.[1];
      if (!floor) throw new Error(`peerDependencies.${name}: "${range}" does not start with a caret range`);
      return [name, floor];
    }),
  );
}

const isOptional = (name: string) => MANIFEST.peerDependenciesMeta?.[name]?.optional === true;

/** An app that uses every entry point the package has. Run as `node app.js`, it plays a lease scenario. */
const APP = `
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import {
  createLeaseTable,
  fencedWrite,
  FencedWriteRejectedError,
  LeaderElector,
  LeaseClient,
  powertoolsElectionMetrics,
  type FencedItems,
} from 'leasehold';
import { eventBridgePublisher, singleton, type SingletonContext } from 'leasehold/serverless';
import { loseResponses, ManualClock } from 'leasehold/testing';

const config = JSON.parse(process.env.LEASEHOLD_CLIENT_CONFIG!) as DynamoDBClientConfig;
const table = process.env.LEASEHOLD_TABLE!;
const client = new DynamoDBClient(config);
// What goes over the wire, by operation: the refused acquire below must be one request.
const sent: string[] = [];
client.middlewareStack.add(
  (next) => async (args) => {
    sent.push((args.request as { headers: Record<string, string> }).headers['x-amz-target']!.split('.')[1]!);
    return next(args);
  },
  { step: 'finalizeRequest', name: 'recordOperations' },
);
const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(\`expected: \${what}\`);
};

// Type-checked, not run: the other entry points, with the app's own clients.
export const handler = middy(async (_event: ScheduledEvent, context: SingletonContext) => context.lease.fencingToken).use(
  singleton({ leases: new LeaseClient({ tableName: table, client }), name: 'nightly', onBusy: 'skip' }),
);
export const publisher = eventBridgePublisher({ client: new EventBridgeClient(config) });
export const faulty = () => loseResponses(new DynamoDBClient(config), (operation) => operation === 'UpdateItem');
export const manual = () => new LeaseClient({ tableName: table, client, clock: new ManualClock() });
export const elector = (metrics: Metrics) =>
  new LeaderElector({ leases: new LeaseClient({ tableName: table, client }), name: 'scheduler', metrics: powertoolsElectionMetrics(metrics) });

await createLeaseTable(client, table);
const a = new LeaseClient({ tableName: table, client, holderId: 'a' });
const b = new LeaseClient({ tableName: table, client, holderId: 'b' });
const first = await a.tryAcquire('job', { leaseMs: 10_000 });
check(first?.fencingToken === 1, 'a acquires with token 1');
sent.length = 0;
check((await b.tryAcquire('job', { leaseMs: 10_000 })) === undefined, 'b is refused while a holds it');
check(sent.join() === 'UpdateItem', \`the refusal is one UpdateItem whose failure returns the item, not \${sent.join(' + ')}\`);
await first!.renew();
const output: FencedItems = [{ Put: { TableName: table, Item: { name: 'output', value: 1 } } }];
await fencedWrite(first!, output);
await first!.release();
const second = await b.tryAcquire('job', { leaseMs: 10_000 });
check(second?.fencingToken === 2, 'b acquires after the release, with token 2');
check(await a.revoke('job', 2), 'an operator revokes it');
const refused = await fencedWrite(second!, output).then(() => undefined, (error: unknown) => error);
check(refused instanceof FencedWriteRejectedError, \`a fenced write after the revoke is refused, not \${String(refused)}\`);
client.destroy();
console.log('lease scenario passed');
`;

/** Synthesizes the constructs into the folder given; prints both templates. */
const STACKS = `
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LeaderElection, LeaseTable } from 'leasehold/cdk';

const app = new App({ outdir: process.argv[2] });
const single = new Stack(app, 'Single');
const election = new LeaderElection(single, 'Election');
const worker = new lambda.Function(single, 'Worker', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => {};'),
});
election.grantAcquire(worker, { names: ['billing-*'] });
const global = new Stack(app, 'Global', { env: { account: '111111111111', region: 'us-east-1' } });
new LeaseTable(global, 'Leases', { replicaRegions: ['us-east-2'], witnessRegion: 'us-west-2' });
const assembly = app.synth();
console.log(JSON.stringify({ single: assembly.getStackByName('Single').template, global: assembly.getStackByName('Global').template }));
`;

const TSCONFIG = {
  compilerOptions: {
    ...STRICT_CONSUMER_OPTIONS,
    outDir: 'out',
    // The repository's @types/node, so the app installs only what a user's would.
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  },
  files: ['app.ts', 'stacks.ts'],
};

/** A container app that uses the root entry point alone: its declarations must name no optional peer. */
const ROOT_ONLY_APP = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, fencedWrite, LeaderElector, LeaseClient, LeaseStoreError, observeLeader, type ElectionLeases } from 'leasehold';

const leases: ElectionLeases = new LeaseClient({ tableName: 'leasehold', client: new DynamoDBClient({}) });
export const elector = new LeaderElector({ leases, name: 'scheduler' });
export { createLeaseTable, fencedWrite, LeaseStoreError, observeLeader };
`;

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface Tree {
  version?: string;
  dependencies?: Record<string, Tree>;
}

/** Every version of `name` anywhere in an `npm ls --all --json` tree. */
function versionsIn(tree: Tree, name: string, found = new Set<string>()): Set<string> {
  for (const [dependency, subtree] of Object.entries(tree.dependencies ?? {})) {
    if (dependency === name && subtree.version) found.add(subtree.version);
    versionsIn(subtree, name, found);
  }
  return found;
}

const NOT_COPIED = new Set(['node_modules', 'dist', '.git', '.leasehold', 'cdk.out']);

/**
 * `npm pack` (whose prepack builds) in a copy of the checkout: what a publish from a clean clone
 * holds, built without writing the dist/ that package.test.ts builds at the same time.
 */
function pack(into: string): string {
  const source = join(into, 'source');
  cpSync(ROOT, source, { recursive: true, filter: (path) => !NOT_COPIED.has(relative(ROOT, path).split('/')[0]!) });
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', into], { cwd: source, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [result] = JSON.parse(output.slice(output.indexOf('['))) as { filename: string }[];
  return join(into, result!.filename);
}

/** A new app in `dir` with the tarball and `packages` (name@version) installed, as a user's npm would. */
function installApp(dir: string, tarball: string, packages: string[], files: Record<string, string> = {}): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...packages], { cwd: dir, stdio: 'pipe' });
}

const work = mkdtempSync(join(tmpdir(), 'leasehold-floor-'));
const backend = referenceBackend();
const config = localClientConfig(backend.endpoint);
const credentials = config.credentials as { accessKeyId: string; secretAccessKey: string };
const floors = peerFloors();
let tarball = '';

beforeAll(() => {
  tarball = pack(work);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the installed `leasehold` command in `app` against the reference backend, with the fake key pair. */
function leaseholdIn(app: string, table: string, ...args: string[]) {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: config.region as string,
  };
  const bin = join(app, 'node_modules', 'leasehold', 'dist', 'bin', 'leasehold.js');
  return spawnSync(process.execPath, [bin, '--endpoint', backend.endpoint, '--table', table, ...args], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
}

describe('leasehold at the floor of every peer range', () => {
  const app = join(work, 'floor-app');
  const table = uniqueTableName('floor');
  let tsc: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    const peers = Object.entries(floors).map(([name, version]) => `${name}@${version}`);
    installApp(app, tarball, peers, { 'app.ts': APP, 'stacks.ts': STACKS, 'tsconfig.json': JSON.stringify(TSCONFIG) });
    // Emits even with type errors, so the runtime checks below still say what they can.
    tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { encoding: 'utf8' });
  }, 300_000);

  it('installs exactly the floors, one copy of each, which leasehold shares with the app', () => {
    const tree = JSON.parse(execFileSync('npm', ['ls', '--all', '--json'], { cwd: app, encoding: 'utf8' })) as Tree;
    for (const [name, version] of Object.entries(floors)) expect([...versionsIn(tree, name)], name).toEqual([version]);
  });

  it('type-checks a strict app (skipLibCheck off) against its declarations', () => {
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  });

  it.runIf(backend.name === 'dynamodb-local')(
    "contends, renews, fences and releases with the app's own DynamoDBClient at the SDK floor",
    () => {
      const env = { ...process.env, LEASEHOLD_CLIENT_CONFIG: JSON.stringify(config), LEASEHOLD_TABLE: table };
      const run = spawnSync(process.execPath, ['out/app.js'], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('lease scenario passed');
    },
    90_000,
  );

  it.runIf(backend.name === 'dynamodb-local')('runs the CLI at the SDK floor', () => {
    const cli = (...args: string[]) => {
      const run = leaseholdIn(app, `${table}-cli`, '--json', ...args);
      expect(run.stderr, args.join(' ')).toBe('');
      return JSON.parse(run.stdout) as unknown;
    };
    cli('create-table');
    expect(cli('acquire', 'job', '--lease', '30s', '--holder', 'ops')).toMatchObject({ acquired: true, fencingToken: 1 });
    expect(cli('status', 'job')).toMatchObject({ name: 'job', holderId: 'ops', fencingToken: 1, state: 'held' });
    // Loads the EventBridge client (nothing is expired, so nothing is sent).
    expect(cli('reap', '--event-bus', 'default')).toMatchObject({ reaped: 0, eventsFailed: 0 });
  }, 60_000);

  it(
    'synthesizes LeaderElection and a strongly consistent global LeaseTable at the CDK floor',
    () => {
      const outdir = join(work, 'cdk.out');
      const synth = spawnSync(process.execPath, ['out/stacks.js', outdir], { cwd: app, encoding: 'utf8', timeout: 60_000 });
      expect(synth.stderr).toBe('');
      const { single, global } = JSON.parse(synth.stdout) as Record<'single' | 'global', { Resources: Record<string, Resource> }>;
      const ofType = (template: { Resources: Record<string, Resource> }, type: string) =>
        Object.values(template.Resources).filter((resource) => resource.Type === type);
      expect(ofType(single, 'AWS::DynamoDB::Table')).toHaveLength(1);
      expect(ofType(single, 'AWS::CloudWatch::Alarm')).toHaveLength(4);
      expect(ofType(single, 'AWS::Lambda::Function')).toContainEqual(
        expect.objectContaining({
          Properties: expect.objectContaining({ Runtime: 'nodejs22.x', LoggingConfig: { LogGroup: expect.anything() } }),
        }),
      );
      expect(JSON.stringify(ofType(single, 'AWS::IAM::Policy'))).toContain('dynamodb:LeadingKeys');
      expect(ofType(global, 'AWS::DynamoDB::GlobalTable')).toEqual([
        expect.objectContaining({
          Properties: expect.objectContaining({ MultiRegionConsistency: 'STRONG', GlobalTableWitnesses: [{ Region: 'us-west-2' }] }),
        }),
      ]);
    },
    60_000,
  );
});

// npm installs required peers by itself but never optional ones: an app that asks for the two
// required packages alone must still load the root and run every command but `reap --event-bus`.
describe('leasehold with its required peers alone', () => {
  const app = join(work, 'minimal-app');
  const required = Object.keys(floors).filter((name) => !isOptional(name));

  beforeAll(
    () =>
      installApp(app, tarball, required.map((name) => `${name}@${floors[name]}`), {
        'root.ts': ROOT_ONLY_APP,
        'tsconfig.json': JSON.stringify({ compilerOptions: { ...TSCONFIG.compilerOptions, noEmit: true }, files: ['root.ts'] }),
      }),
    300_000,
  );

  it('installs none of the optional peers but util-dynamodb, which lib-dynamodb depends on', () => {
    expect([...required].sort()).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
    const present = Object.keys(floors).filter((name) => existsSync(join(app, 'node_modules', name)));
    expect(present.sort()).toEqual([...required, '@aws-sdk/util-dynamodb'].sort());
  });

  it('type-checks a strict app of the root alone (skipLibCheck off) with no optional peer installed', () => {
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { encoding: 'utf8' });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('loads the root', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', "const l = await import('leasehold'); console.log(typeof l.LeaseClient);"], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function');
  });

  it.runIf(backend.name === 'dynamodb-local')('runs the CLI, and names the package `reap --event-bus` needs', () => {
    const table = uniqueTableName('minimal');
    expect(leaseholdIn(app, table, 'create-table').stdout).toBe(`table ${table} is ready\n`);
    expect(leaseholdIn(app, table, 'reap').status).toBe(0);
    const withEvents = leaseholdIn(app, table, 'reap', '--event-bus', 'default');
    expect(withEvents.stderr).toContain('--event-bus: needs @aws-sdk/client-eventbridge');
    expect(withEvents.status).toBe(2);
  }, 60_000);
});
