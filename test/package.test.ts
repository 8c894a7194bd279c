/**
 * The package as `npm pack` makes it from a clean clone: built first (there is no dist/ in git),
 * with its licence and changelog, and with source maps that carry their own sources, since the
 * TypeScript files are not shipped. The README's TypeScript examples compile against its types
 * as a strict user project would see them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseClient } from '../lib/index.js';
import { localClientConfig } from '../lib/testing/local-dynamodb.js';
import { referenceBackend } from './support/backends.js';
import { STRICT_CONSUMER_OPTIONS } from './support/strict-consumer.js';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

/** The free names the README's examples leave to the reader, typed as the examples use them. */
const README_GLOBALS = `
declare const client: import('@aws-sdk/client-dynamodb').DynamoDBClient;
declare function doWork(options: { fencingToken: number; signal: AbortSignal }): Promise<void>;
declare function report(options: { fencingToken: number; signal: AbortSignal }): Promise<void>;
declare function nextJobUpdate(fencingToken: number): NonNullable<NonNullable<import('@aws-sdk/lib-dynamodb').TransactWriteCommandInput['TransactItems']>[number]['Update']>;
`;

const README_TSCONFIG = {
  compilerOptions: { ...STRICT_CONSUMER_OPTIONS, noEmit: true },
  include: ['*.ts'],
};

describe('the packed package', () => {
  const destination = mkdtempSync(join(tmpdir(), 'leasehold-pack-'));
  let files: string[] = [];
  let tarball = '';

  beforeAll(() => {
    // `npm pack` runs prepack, which builds: the tarball is what a publish from a clean clone holds.
    const output = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [result] = JSON.parse(output.slice(output.indexOf('['))) as PackResult[];
    files = result!.files.map((f) => f.path);
    tarball = join(destination, result!.filename);
  }, 180_000);
  afterAll(() => rmSync(destination, { recursive: true, force: true }));

  it('holds the built library, CLI and reaper entry, not just the README', () => {
    for (const path of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/serverless/index.js', 'dist/lib/testing/index.js', 'dist/lib/cdk/index.js', 'dist/bin/leasehold.js', 'dist/assets/reaper/index.mjs', 'dist/assets/lease-events/index.mjs']) {
      expect(files).toContain(path);
    }
  });

  it('ships its licence and changelog, and nothing outside dist/ besides', () => {
    expect(files.filter((path) => !path.startsWith('dist/')).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
    expect(files.some((path) => path.endsWith('.test.js') || path.startsWith('dist/test/'))).toBe(false);
  });

  // A type the package's declarations import from an undeclared package silently becomes `any`
  // for users with skipLibCheck (SingletonContext did, through `aws-lambda`). Node's own modules
  // are left to the user's @types/node, as every Node TypeScript project has it.
  it('declares every package its shipped type declarations import', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, string> | undefined>;
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const imported = new Set<string>();
    for (const path of files.filter((f) => f.endsWith('.d.ts'))) {
      for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/(?:from |import\()['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue;
        const parts = specifier!.split('/');
        imported.add(specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
      }
    }
    const typesPackage = (name: string) => `@types/${name.replace(/^@/, '').replace('/', '__')}`;
    const undeclared = [...imported].filter((name) => !declared.has(name) && !declared.has(typesPackage(name)));
    expect(imported.size).toBeGreaterThan(3);
    expect(undeclared).toEqual([]);
  });

  // Optional peers (EventBridge for the reaper's events, the CDK for leasehold/cdk) must not be
  // loaded by `import 'leasehold'`: an app without them would fail to start, and an unbundled
  // Lambda would pay for loading them.
  it('loads no optional peer when the root is imported', () => {
    const root = files.filter((path) => path.startsWith('dist/lib/') && !path.startsWith('dist/lib/cdk/') && path.endsWith('.js'));
    for (const path of root) {
      expect(readFileSync(path, 'utf8'), path).not.toMatch(/from ['"](@aws-sdk\/client-eventbridge|aws-cdk-lib|constructs)/);
    }
  });

  it('has source maps that carry their sources, since the .ts files are not in the package', () => {
    const listing = execFileSync('tar', ['-xzOf', tarball, 'package/dist/lib/core/lease.js.map'], { encoding: 'utf8' });
    const map = JSON.parse(listing) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sourcesContent).toHaveLength(map.sources.length);
    expect(map.sourcesContent![0]).toContain('export class Lease');
    expect(files.some((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toBe(false);
  });

  // Node 20.19+, 22.12+ and 24 load an ES module with require(); the `default` export condition
  // lets them, where `import` alone made `require('leasehold')` fail with ERR_PACKAGE_PATH_NOT_EXPORTED.
  it('loads with require() from a CommonJS app, the root and every subpath alike', () => {
    const script = [
      "const l = require('leasehold'), s = require('leasehold/serverless'), t = require('leasehold/testing'), c = require('leasehold/cdk');",
      'console.log(typeof l.LeaseClient, typeof s.singleton, typeof t.startEmbeddedDynamoDB, typeof c.LeaderElection);',
    ].join(' ');
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function function function function');
  });

  // An app that installs the package synthesizes the reaper from the bundle inside it: no esbuild
  // (the construct no longer imports NodejsFunction at all), no Docker, no map of missing sources.
  it('synthesizes LeaderElection from the built package, deploying the reaper bundle it ships as it is', () => {
    const constructs = files.filter((path) => path.startsWith('dist/lib/cdk/') && path.endsWith('.js'));
    for (const path of constructs) expect(readFileSync(path, 'utf8'), path).not.toContain('aws-lambda-nodejs');
    expect(files.filter((path) => path.startsWith('dist/assets/')).sort()).toEqual(['dist/assets/lease-events/index.mjs', 'dist/assets/reaper/index.mjs']);
    const outdir = mkdtempSync(join(tmpdir(), 'leasehold-synth-'));
    try {
      const script = `
        import { App, Stack } from 'aws-cdk-lib';
        import { LeaderElection } from 'leasehold/cdk';
        const app = new App({ outdir: ${JSON.stringify(outdir)} });
        new LeaderElection(new Stack(app, 'Users'), 'Election');
        app.synth();`;
      const synth = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(synth.stderr).toBe('');
      const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
      expect(assets).toHaveLength(1);
      expect(readdirSync(join(outdir, assets[0]!))).toEqual(['index.mjs']);
      expect(readFileSync(join(outdir, assets[0]!, 'index.mjs')).equals(readFileSync('dist/assets/reaper/index.mjs'))).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);

  it("compiles the README's TypeScript examples with --strict and skipLibCheck off against its types", () => {
    const blocks = [...readFileSync('README.md', 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // Inside this package's folder, `import 'leasehold'` resolves to itself through package.json
    // `exports`: the declarations beforeAll just built, as a user's install sees them.
    mkdirSync('.leasehold', { recursive: true });
    const dir = mkdtempSync(join('.leasehold', 'readme-'));
    try {
      blocks.forEach((code, i) => writeFileSync(join(dir, `example-${i + 1}.ts`), code));
      writeFileSync(join(dir, 'globals.d.ts'), README_GLOBALS);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(README_TSCONFIG));
      const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', dir], { encoding: 'utf8' });
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  // The first example a user copies, run as written (its `doWork` stubbed) against DynamoDB Local
  // through the built package: `new DynamoDBClient({})` finds the endpoint in the environment.
  it.skipIf(referenceBackend().name === 'endpoint')("runs the README's Locks example against DynamoDB Local", async () => {
    const [locks] = [...readFileSync('README.md', 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(locks).toContain("leases.tryAcquire('nightly-report'");
    const { endpoint } = referenceBackend();
    mkdirSync('.leasehold', { recursive: true });
    const dir = mkdtempSync(join('.leasehold', 'readme-run-'));
    try {
      const doWork = 'const doWork = async (_: { fencingToken: number; signal: AbortSignal }) => {};\n';
      writeFileSync(join(dir, 'locks.ts'), doWork + locks);
      // The local servers' fake key pair and Region (localClientConfig's), from the environment.
      const { region, credentials } = localClientConfig(endpoint) as { region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
      const env = {
        ...process.env,
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      };
      const run = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', join(dir, 'locks.ts')], { encoding: 'utf8', env });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Two acquisitions of the name, both released: the example leaves nothing held.
    const client = new DynamoDBClient(localClientConfig(endpoint));
    try {
      const stored = await new LeaseClient({ tableName: 'leasehold', client }).describe('nightly-report');
      expect(stored).toMatchObject({ state: 'released', fencingToken: 2 });
    } finally {
      client.destroy();
    }
  }, 60_000);
  // The testing kit's example starts its own server (DynamoDB Local here, Java being installed)
  // through the built package, whose optional peers resolve from this repository's devDependencies.
  it("runs the README's testing-kit example as written", () => {
    const testing = [...readFileSync('README.md', 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).find((code) => code.includes("from 'leasehold/testing'"));
    expect(testing).toContain('startEmbeddedDynamoDB()');
    mkdirSync('.leasehold', { recursive: true });
    const dir = mkdtempSync(join('.leasehold', 'readme-testing-'));
    try {
      writeFileSync(join(dir, 'testing.ts'), testing!);
      const run = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', join(dir, 'testing.ts')], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
