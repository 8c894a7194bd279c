/**
 * `npm run chaos -- --group N` in short: worker processes share a lease group's partitions
 * against DynamoDB Local while the controller kills, freezes and throttles them, loses their
 * answers, skews their clocks and makes their writes meet transactions; every check runs per
 * partition and the run exits 0 only with zero violations.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('the chaos run in group mode', () => {
  const out = mkdtempSync(join(tmpdir(), 'leasehold-chaos-group-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('keeps one owner per partition, growing tokens and refused stale writes under faults', async () => {
    const faults = 'kill,stop,resign,throttle,drop,latency,clock,conflict,partition';
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'harness/chaos/main.ts', '--group', '12', '--workers', '3', '--minutes', '0.5', '--seed', '7', '--faults', faults, '--out', out],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, timeout: 150_000 },
    ).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`chaos --group exited with ${error.code}\n${error.stdout}\n${error.stderr}`);
    });
    console.log(stdout.slice(stdout.indexOf('chaos verdict:')));
    expect(stdout).toContain('chaos verdict: NO VIOLATIONS  (group mode, 12 partitions');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { ok: boolean; violations: string[]; partitions: number; acquisitions: number };
    expect(summary.violations).toEqual([]);
    expect(summary).toMatchObject({ ok: true, partitions: 12 });
    expect(summary.acquisitions).toBeGreaterThanOrEqual(12);
  }, 180_000);
});
