/**
 * The package as `npm pack` makes it from a clean clone: built first (there is no dist/ in git),
 * with its licence and changelog, and with source maps that carry their own sources, since the
 * TypeScript files are not shipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

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
    for (const path of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cdk/index.js', 'dist/bin/leasehold.js', 'dist/lambda/reaper.js']) {
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

  it('has source maps that carry their sources, since the .ts files are not in the package', () => {
    const listing = execFileSync('tar', ['-xzOf', tarball, 'package/dist/lib/core/lease.js.map'], { encoding: 'utf8' });
    const map = JSON.parse(listing) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sourcesContent).toHaveLength(map.sources.length);
    expect(map.sourcesContent![0]).toContain('export class Lease');
    expect(files.some((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toBe(false);
  });
});
