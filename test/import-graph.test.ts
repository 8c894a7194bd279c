/**
 * What each entry point loads when it is imported, read from esbuild's metafile of the source: a
 * container that imports `LeaseClient` must not pay for EventBridge, Powertools, middy, commander
 * or aws-cdk-lib, and `leasehold/cdk` must not load the AWS SDK. A package a module imports only
 * lazily (`await import(...)`, when the feature is first used) is listed apart.
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Packages (not `node:` built-ins) an entry point imports statically and lazily, through all of its own modules. */
async function packagesLoadedBy(entry: string): Promise<{ static: string[]; lazy: string[] }> {
  const { metafile } = await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    write: false,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external && !i.path.startsWith('node:')));
  const names = (kind: (k: string) => boolean) => [...new Set(imports.filter((i) => kind(i.kind)).map((i) => i.path))].sort();
  const lazy = names((k) => k === 'dynamic-import');
  const statics = names((k) => k !== 'dynamic-import');
  return { static: statics, lazy: lazy.filter((name) => !statics.includes(name)) };
}

const HEAVY_FOR_A_CONTAINER = ['@aws-sdk/client-eventbridge', '@aws-lambda-powertools/metrics', '@aws-lambda-powertools/logger', '@middy/core', 'commander', 'aws-cdk-lib', 'constructs'];

describe('what each entry point loads', () => {
  // util-dynamodb comes with lib-dynamodb, which depends on it (why it is an optional peer
  // nonetheless: test/dependency-range.test.ts).
  it('leasehold: the DynamoDB clients, and DynamoDB Streams only when observeLeader follows a stream', async () => {
    const loaded = await packagesLoadedBy('lib/index.ts');
    expect(loaded.static).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb']);
    expect(loaded.lazy).toEqual(['@aws-sdk/client-dynamodb-streams']);
  });

  it('leasehold/serverless: EventBridge only when an event is first published; no Powertools, commander or CDK', async () => {
    const loaded = await packagesLoadedBy('lib/serverless/index.ts');
    expect(loaded.static).toContain('@aws-sdk/client-dynamodb');
    for (const name of HEAVY_FOR_A_CONTAINER) expect(loaded.static).not.toContain(name);
    expect(loaded.lazy).toEqual(['@aws-sdk/client-eventbridge']);
  });

  it('leasehold/cdk: aws-cdk-lib and constructs, never the AWS SDK or middy', async () => {
    const loaded = await packagesLoadedBy('lib/cdk/index.ts');
    expect(loaded.static).toContain('aws-cdk-lib');
    expect(loaded.static.filter((name) => name.startsWith('@aws-sdk/') || name.startsWith('@middy/'))).toEqual([]);
  });

  it('leasehold/testing: dynalite only when it is started, no Lambda or CDK packages', async () => {
    const loaded = await packagesLoadedBy('lib/testing/index.ts');
    for (const name of HEAVY_FOR_A_CONTAINER) expect(loaded.static).not.toContain(name);
    expect(loaded.static).not.toContain('dynalite');
    expect(loaded.lazy).toEqual(['dynalite']);
  });
});
