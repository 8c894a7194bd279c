/**
 * Bundles each of leasehold's Lambda handlers (`lambda/<name>.ts`) into one ES module,
 * `dist/assets/<name>/index.mjs`, which its construct (`LeaseReaper`, `LeaseEvents`) deploys as it
 * is: users' `cdk synth` needs neither esbuild nor Docker. `npm run build` (and so `npm pack`) runs
 * it, and so do the test suite's setup and `cdk.json`'s app, since the constructs find no handler
 * without it.
 *
 *   npx tsx harness/local/bundle-lambdas.ts
 *
 * @module
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The handlers that ship bundled: each `lambda/<name>.ts` becomes `dist/assets/<name>/index.mjs`. */
export const BUNDLED_LAMBDAS = ['reaper', 'lease-events'] as const;
/** One of {@link BUNDLED_LAMBDAS}. */
export type BundledLambda = (typeof BUNDLED_LAMBDAS)[number];

/** Where a handler's bundle goes; its construct looks for it beside its own compiled file (or here). */
export const bundlePath = (name: BundledLambda): string => join(root, 'dist', 'assets', name, 'index.mjs');
/** The reaper's bundle, which `LeaseReaper` deploys. */
export const REAPER_BUNDLE = bundlePath('reaper');
/** The stream publisher's bundle, which `LeaseEvents` deploys. */
export const LEASE_EVENTS_BUNDLE = bundlePath('lease-events');

/** Writes one bundle, replacing any earlier one in one rename so a concurrent reader never sees half. */
async function bundle(name: BundledLambda): Promise<{ name: BundledLambda; path: string; bytes: number }> {
  const result = await build({
    entryPoints: [join(root, 'lambda', `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Minified for a small package and a quick cold start; names kept so stack traces read.
    minify: true,
    keepNames: true,
    legalComments: 'none',
    // The SDK version tested with the handler ships with it, not the one the runtime has.
    mainFields: ['module', 'main'],
    // Bundled CommonJS dependencies call require(); ESM has none unless given one.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    write: false,
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  const path = bundlePath(name);
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, output!.contents);
  renameSync(temporary, path);
  return { name, path, bytes: output!.contents.length };
}

/** Writes every bundle. */
export function bundleLambdas(): Promise<{ name: BundledLambda; path: string; bytes: number }[]> {
  return Promise.all(BUNDLED_LAMBDAS.map(bundle));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const { name, path, bytes } of await bundleLambdas()) console.log(`${name} bundled: ${path} (${(bytes / 1024).toFixed(0)} KiB)`);
}
