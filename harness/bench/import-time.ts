/**
 * What `singleton` adds to a Lambda cold start: how long a bundled handler that uses it takes to
 * import, beside one that uses lib-dynamodb alone. Both are bundled as a Lambda user bundles them
 * (esbuild, ES module, minified, `@aws-sdk/*` left external because the runtime provides the SDK),
 * then imported in fresh `node` processes, alternately, so machine noise hits both alike. Each
 * bundle's size and the packages it loads are reported too: the singleton's must load neither the
 * EventBridge client, Powertools, commander nor aws-cdk-lib.
 *
 * The singleton handler imports the library's source, `lib/index.ts`, by absolute path: the repo's
 * `package.json` (and its `sideEffects`) governs it exactly as it governs `dist/` in an installed
 * package, and no build step or stale `dist/` stands between an edit and its measurement.
 *
 *   npx tsx bench/import-time.ts [--runs 15]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { percentile } from './measure.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One bundled handler: what it is made of and how long it takes to import. */
export interface BundleImport {
  /** Bundle size, bytes. */
  bytes: number;
  /** Packages the bundle imports at run time (the external `@aws-sdk/*`), `node:` built-ins aside. */
  externalPackages: string[];
  /** Packages from `node_modules` with code inside the bundle. */
  bundledPackages: string[];
  /** Import time of each run, ms: `await import(bundle)` in a fresh `node` process. */
  samplesMs: number[];
  medianMs: number;
  p90Ms: number;
}

export interface ImportTimeResult {
  runs: number;
  /** A handler constructing a `DynamoDBDocumentClient` from `@aws-sdk/lib-dynamodb`. */
  baseline: BundleImport;
  /** A middy handler constructing a `LeaseClient` and using `singleton`, as the README shows. */
  singleton: BundleImport;
  /** singleton.medianMs / baseline.medianMs */
  ratio: number;
}

const HANDLERS = {
  baseline: `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async () => documents.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { id: 'nightly-report' } }));
`,
  singleton: `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { LeaseClient } from ${JSON.stringify(join(root, 'lib', 'index.ts'))};
import { singleton } from ${JSON.stringify(join(root, 'lib', 'serverless', 'index.ts'))};
const leases = new LeaseClient({ tableName: process.env.LEASEHOLD_TABLE_NAME ?? 'leasehold', client: new DynamoDBClient({}) });
export const handler = middy(async () => 'report written').use(singleton({ leases, name: 'nightly-report', onBusy: 'skip' }));
`,
} as const;

type Handler = keyof typeof HANDLERS;

/**
 * Timed in the child: from just before the import to just after, so node's own start-up is out. A
 * failure prints only its stack (node would print the offending line: all of a minified bundle).
 */
const PROBE = [
  'const t = performance.now();',
  'try { await import(process.argv[1]); } catch (e) { process.stderr.write(String(e?.stack ?? e)); process.exit(1); }',
  'process.stdout.write(String(performance.now() - t));',
].join(' ');

/** The package a module specifier or a `node_modules` path belongs to: `@scope/name` or `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('node_modules/').at(-1)!.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

async function bundle(dir: string, handler: Handler): Promise<{ file: string; bytes: number; externalPackages: string[]; bundledPackages: string[] }> {
  const entry = join(dir, `${handler}.ts`);
  const file = join(dir, `${handler}.mjs`);
  writeFileSync(entry, HANDLERS[handler]);
  const { metafile } = await build({
    entryPoints: [entry],
    outfile: file,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    // ES module builds first, as CDK's NodejsFunction does for an ESM handler.
    mainFields: ['module', 'main'],
    // The Lambda runtime provides the SDK.
    external: ['@aws-sdk/*'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  });
  const output: Metafile['outputs'][string] = Object.values(metafile.outputs)[0]!;
  const externalPackages = output.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => packageOf(i.path));
  const bundledPackages = Object.entries(output.inputs)
    .filter(([path, input]) => path.includes('node_modules/') && input.bytesInOutput > 0)
    .map(([path]) => packageOf(path));
  const sorted = (names: string[]) => [...new Set(names)].sort();
  return { file, bytes: output.bytes, externalPackages: sorted(externalPackages), bundledPackages: sorted(bundledPackages) };
}

async function importMs(file: string): Promise<number> {
  // Plain node, as Lambda runs it: no loader (tsx, vitest) inherited through NODE_OPTIONS.
  const { NODE_OPTIONS: _, ...inherited } = process.env;
  const env = { ...inherited, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(file).href], { env, cwd: root }).catch(
    (error: { stderr?: string }) => {
      throw new Error(`import-time bench: ${file} failed to import: ${error.stderr ?? String(error)}`, { cause: error });
    },
  );
  const ms = Number(stdout);
  if (!(ms > 0)) throw new Error(`import-time bench: ${file} printed "${stdout}", not a duration`);
  return ms;
}

export async function benchImportTime(options: { runs: number }): Promise<ImportTimeResult> {
  const { runs } = options;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`import-time bench: runs must be a positive integer, got ${runs}`);
  // Inside the repo (`.leasehold/` is ignored by git), so the external SDK resolves from its node_modules.
  mkdirSync(join(root, '.leasehold'), { recursive: true });
  const dir = mkdtempSync(join(root, '.leasehold', 'import-time-'));
  try {
    const bundles = { baseline: await bundle(dir, 'baseline'), singleton: await bundle(dir, 'singleton') };
    const samples: Record<Handler, number[]> = { baseline: [], singleton: [] };
    // One untimed import of each first, so neither pays alone for reading the SDK from disk.
    for (const handler of ['baseline', 'singleton'] as const) await importMs(bundles[handler].file);
    for (let run = 0; run < runs; run++) {
      const order: Handler[] = run % 2 === 0 ? ['baseline', 'singleton'] : ['singleton', 'baseline'];
      for (const handler of order) samples[handler].push(await importMs(bundles[handler].file));
    }
    const summarise = (handler: Handler): BundleImport => {
      const { file: _, ...made } = bundles[handler];
      return { ...made, samplesMs: samples[handler], medianMs: percentile(samples[handler], 50), p90Ms: percentile(samples[handler], 90) };
    };
    const baseline = summarise('baseline');
    const singleton = summarise('singleton');
    return { runs, baseline, singleton, ratio: singleton.medianMs / baseline.medianMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One row per handler, for `console.table`. */
function importTimeRows(result: ImportTimeResult): Record<string, Record<string, string>> {
  const row = (b: BundleImport) => ({
    'median / p90 ms': `${b.medianMs.toFixed(1)} / ${b.p90Ms.toFixed(1)}`,
    'bundle KiB': (b.bytes / 1024).toFixed(1),
    imports: b.externalPackages.join(', '),
    bundles: b.bundledPackages.join(', ') || '-',
  });
  return { 'lib-dynamodb (baseline)': row(result.baseline), 'leasehold singleton': row(result.singleton) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
  const result = await benchImportTime({ runs: Number(values.runs) });
  console.log(`import of a bundled handler, ${result.runs} runs each, alternating, fresh node ${process.versions.node} processes`);
  console.table(importTimeRows(result));
  console.log(`ratio singleton / baseline (medians): ${result.ratio.toFixed(2)} (target <= 1.1) ${result.ratio <= 1.1 ? 'met' : 'NOT MET'}`);
}
