/**
 * Bundles the reaper's Lambda handler (`lambda/reaper.ts`) into one ES module,
 * `dist/assets/reaper/index.mjs`, which the `LeaseReaper` construct deploys as it is: users'
 * `cdk synth` needs neither esbuild nor Docker. `npm run build` (and so `npm pack`) runs it, and so
 * does the test suite's setup, since the construct finds no handler without it.
 *
 *   npx tsx harness/local/bundle-reaper.ts
 *
 * @module
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Where the bundle goes; the construct looks for it beside its own compiled file (or here). */
export const REAPER_BUNDLE = join(root, 'dist', 'assets', 'reaper', 'index.mjs');

/** Writes the bundle, replacing any earlier one in one rename so a concurrent reader never sees half. */
export async function bundleReaper(): Promise<{ path: string; bytes: number }> {
  const result = await build({
    entryPoints: [join(root, 'lambda', 'reaper.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Minified for a small package and a quick cold start; names kept so stack traces read.
    minify: true,
    keepNames: true,
    legalComments: 'none',
    // The SDK version tested with the reaper ships with it, not the one the runtime has.
    mainFields: ['module', 'main'],
    // Bundled CommonJS dependencies call require(); ESM has none unless given one.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    write: false,
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  mkdirSync(dirname(REAPER_BUNDLE), { recursive: true });
  const temporary = `${REAPER_BUNDLE}.${process.pid}.tmp`;
  writeFileSync(temporary, output!.contents);
  renameSync(temporary, REAPER_BUNDLE);
  return { path: REAPER_BUNDLE, bytes: output!.contents.length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { path, bytes } = await bundleReaper();
  console.log(`reaper bundled: ${path} (${(bytes / 1024).toFixed(0)} KiB)`);
}
