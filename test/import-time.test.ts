/**
 * The import-time benchmark in miniature (`harness/bench/import-time.ts`), so it cannot rot between runs:
 * both handlers bundle and import, and what each bundle loads is checked. No timing is asserted
 * (these machines are shared); what the bundles are made of is.
 */
import { describe, expect, it } from 'vitest';
import { benchImportTime } from '../harness/bench/import-time.js';

describe('the import-time benchmark, in miniature', () => {
  it('bundles both handlers, imports each, and the singleton loads no EventBridge, Powertools, commander or CDK', async () => {
    const { baseline, singleton } = await benchImportTime({ runs: 2 });
    for (const handler of [baseline, singleton]) {
      expect(handler.bytes).toBeGreaterThan(0);
      expect(handler.samplesMs).toHaveLength(2);
      for (const ms of handler.samplesMs) expect(ms).toBeGreaterThan(0);
    }
    expect(baseline.externalPackages).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
    // What the singleton does use is seen, so the absences below are not those of an empty list.
    expect(singleton.externalPackages).toContain('@aws-sdk/client-dynamodb');
    expect(singleton.bundledPackages).toContain('@middy/core');
    const loaded = [...singleton.externalPackages, ...singleton.bundledPackages];
    expect(loaded).not.toContain('@aws-sdk/client-eventbridge');
    expect(loaded.filter((name) => name.startsWith('@aws-lambda-powertools/'))).toEqual([]);
    expect(loaded).not.toContain('commander');
    expect(loaded).not.toContain('aws-cdk-lib');
  }, 60_000);
});
