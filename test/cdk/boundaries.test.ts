/**
 * The constructs import from the runtime only dependency-free modules: the schema, the error
 * classes, the shared defaults, and the metric names and environment variables of the reaper and
 * the lease events function, which their Lambdas import too. So `leasehold/cdk` never loads the AWS SDK or middy, and the root
 * export never loads aws-cdk-lib.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LIB_DIR = fileURLToPath(new URL('../../lib/', import.meta.url));
const CDK_DIR = `${LIB_DIR}cdk/`;
/** The runtime modules the constructs may import, relative to `lib/`. */
const RUNTIME_MODULES = [
  'core/schema',
  'core/errors',
  'core/defaults',
  'serverless/reaper-metrics',
  'serverless/reaper-config',
  'serverless/lease-events-metrics',
  'serverless/lease-events-config',
];
const ALLOWED = [
  /^aws-cdk-lib(\/.*)?$/,
  /^constructs$/,
  /^node:/,
  /^\.\/[\w-]+\.js$/,
  ...RUNTIME_MODULES.map((module) => new RegExp(`^\\.\\./${module}\\.js$`)),
];

function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1] ?? '');
}

describe('lib/cdk', () => {
  const files = readdirSync(CDK_DIR).filter((file) => file.endsWith('.ts'));

  it.each(files)('%s imports only aws-cdk-lib, constructs, node built-ins, its siblings and the allowed runtime modules', (file) => {
    const imports = importsOf(readFileSync(CDK_DIR + file, 'utf8'));
    expect(imports.filter((specifier) => !ALLOWED.some((pattern) => pattern.test(specifier)))).toEqual([]);
  });

  it.each(RUNTIME_MODULES)('may import lib/%s.ts, which imports nothing but the other allowed runtime modules', (module) => {
    const imports = importsOf(readFileSync(`${LIB_DIR}${module}.ts`, 'utf8'));
    // As a module under lib/, without `.js`: `../core/errors.js` from serverless/ is core/errors.
    const targets = imports.map((specifier) => posix.join(posix.dirname(module), specifier).replace(/\.js$/, ''));
    expect(targets.filter((target) => !RUNTIME_MODULES.includes(target))).toEqual([]);
  });

  it('is not reachable from the root export', () => {
    const root = readFileSync(fileURLToPath(new URL('../../lib/index.ts', import.meta.url)), 'utf8');
    expect(importsOf(root).filter((specifier) => specifier.includes('cdk'))).toEqual([]);
  });
});
