/**
 * The layers, as imports may cross them. What ships (`lib/`, `cli/`, `lambda/`, `bin/`) never
 * imports the local harness; the lease protocol (`lib/core`) knows nothing of the elector, Lambda,
 * the CDK or the test kit; the elector knows nothing of Lambda or the CDK. `lib/cdk` has its own,
 * narrower rule (test/cdk/boundaries.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/** Every relative import or re-export of `file`, static or dynamic, as a path from the repository root. */
function localImportsOf(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm),
    ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1] ?? '');
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

/** `from` may not import anything under any of `forbidden`. */
const RULES: { from: string[]; forbidden: string[] }[] = [
  { from: ['lib', 'cli', 'lambda', 'bin'], forbidden: ['harness', 'test'] },
  { from: ['lib/core'], forbidden: ['lib/elector', 'lib/session', 'lib/group', 'lib/serverless', 'lib/cdk', 'lib/testing', 'cli'] },
  { from: ['lib/elector'], forbidden: ['lib/session', 'lib/group', 'lib/serverless', 'lib/cdk', 'lib/testing', 'cli'] },
  // Sessions renew on timers, so they sit above the protocol; groups balance over sessions.
  { from: ['lib/session'], forbidden: ['lib/elector', 'lib/group', 'lib/serverless', 'lib/cdk', 'lib/testing', 'cli'] },
  { from: ['lib/group'], forbidden: ['lib/elector', 'lib/serverless', 'lib/cdk', 'lib/testing', 'cli'] },
  { from: ['lib/serverless'], forbidden: ['lib/elector', 'lib/cdk', 'lib/testing', 'cli'] },
  { from: ['lib/testing'], forbidden: ['lib/elector', 'lib/serverless', 'lib/cdk', 'cli'] },
];

describe.each(RULES)('files under $from', ({ from, forbidden }) => {
  const files = from.flatMap(sourcesUnder);

  it('exist, so the rule is not vacuous', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it(`import nothing under ${forbidden.join(', ')}`, () => {
    const crossings = files.flatMap((file) =>
      localImportsOf(file)
        .filter((target) => forbidden.some((dir) => target === dir || target.startsWith(`${dir}/`)))
        .map((target) => `${file} -> ${target}`),
    );
    expect(crossings).toEqual([]);
  });
});

describe('the import scan', () => {
  it('sees static, re-exported and dynamic imports', () => {
    expect(localImportsOf('lib/index.ts')).toContain('lib/core/lease-client.js');
    expect(localImportsOf('lib/index.ts')).toContain('lib/elector/index.js');
    expect(localImportsOf('bin/leasehold.ts').some((target) => target.startsWith('cli/'))).toBe(true);
  });
});
