/**
 * The constructs import from the runtime only the schema (and the dependency-free error classes),
 * so `leasehold/cdk` never loads the AWS SDK or middy, and the root export never loads aws-cdk-lib.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CDK_DIR = fileURLToPath(new URL('../../lib/cdk/', import.meta.url));
const ALLOWED = [/^aws-cdk-lib(\/.*)?$/, /^constructs$/, /^node:/, /^\.\/[\w-]+\.js$/, /^\.\.\/core\/(schema|errors)\.js$/];

function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1] ?? '');
}

describe('lib/cdk', () => {
  const files = readdirSync(CDK_DIR).filter((file) => file.endsWith('.ts'));

  it.each(files)('%s imports only aws-cdk-lib, constructs, node built-ins, its siblings and the core schema', (file) => {
    const imports = importsOf(readFileSync(CDK_DIR + file, 'utf8'));
    expect(imports.filter((specifier) => !ALLOWED.some((pattern) => pattern.test(specifier)))).toEqual([]);
  });

  it('is not reachable from the root export', () => {
    const root = readFileSync(fileURLToPath(new URL('../../lib/index.ts', import.meta.url)), 'utf8');
    expect(importsOf(root).filter((specifier) => specifier.includes('cdk'))).toEqual([]);
  });
});
