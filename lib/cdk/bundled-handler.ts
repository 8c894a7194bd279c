/**
 * Where the constructs find the Lambda handlers that ship pre-bundled (one ES module file each,
 * the AWS SDK inside), so `cdk synth` needs neither esbuild nor Docker.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeaseholdError } from '../core/errors.js';

/**
 * The folder of the pre-bundled handler `name` (`index.mjs`): `dist/assets/<name>/` beside the
 * compiled constructs in the published package, or in this repository's `dist/` when run from
 * source (`npm run build` or `npx tsx harness/local/bundle-lambdas.ts` makes it). `what` names the
 * function in the error when it is missing.
 */
export function bundledHandler(name: 'reaper' | 'lease-events', what: string): string {
  const candidates = [`../../assets/${name}`, `../../dist/assets/${name}`].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((candidate) => existsSync(join(candidate, 'index.mjs')));
  if (found === undefined) {
    throw new LeaseholdError(`The ${what}'s bundled handler is missing: no index.mjs in ${candidates.join(' or ')}. Run \`npm run build\`.`);
  }
  return found;
}
