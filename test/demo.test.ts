/**
 * `npm start` in short mode, as a newcomer runs it: separate worker processes, real timers, an
 * embedded DynamoDB, and every fault injected (SIGKILL, SIGSTOP past the lease, resign). Its
 * verdict is the end-to-end proof of the elector: one leader at a time, growing tokens, no stale
 * write accepted, and failovers within the bounds the protocol promises.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Verdict } from '../harness/proof/check.js';
import type { GroupVerdict } from '../harness/proof/check-group.js';

const run = promisify(execFile);

describe('the demo (npm start)', () => {
  const out = mkdtempSync(join(tmpdir(), 'leasehold-demo-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('elects, fails over after every kind of fault, and ends with a safe verdict', async () => {
    const leaseMs = 2_000;
    const skewMs = 200;
    const followerWakeMs = leaseMs / 2;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'harness/demo/main.ts', '--duration', '16s', '--fault-every', '3s', '--out', out],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, timeout: 90_000 },
    ).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`demo exited with ${error.code}\n${error.stdout}\n${error.stderr}`);
    });
    console.log(stdout.slice(stdout.indexOf('verdict:')));
    expect(stdout).toContain('verdict: SAFE: every check held');
    const verdict = JSON.parse(readFileSync(join(out, 'verdict.json'), 'utf8')) as Verdict & { ledgerViolations: string[] };
    expect(verdict.violations).toEqual([]);
    expect(verdict.ledgerViolations, 'the ledger agrees with the histories').toEqual([]);
    expect(verdict.elections).toBeGreaterThanOrEqual(4);
    expect(new Set(verdict.failovers.map((f) => f.fault))).toEqual(new Set(['kill', 'stop', 'resign']));
    // Bounds from the protocol, with room for process scheduling on a busy machine.
    const slack = 1_500;
    for (const { fault, gapMs } of verdict.failovers) {
      const bound = fault === 'resign' ? followerWakeMs : leaseMs + skewMs + followerWakeMs;
      expect(gapMs, `${fault} failover`).toBeLessThanOrEqual(bound + slack);
    }
    expect(verdict.writesRejected, 'a frozen leader\'s write is refused after it resumes').toBeGreaterThanOrEqual(1);
    expect(existsSync(join(out, 'timeline.svg'))).toBe(true);
  }, 120_000);

  it('in group mode, shares the partitions, rebalances after kill, stop and join, and every partition passes every check', async () => {
    const groupOut = join(out, 'group');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'harness/demo/main.ts', '--group', '16', '--workers', '3', '--duration', '30s', '--fault-every', '4s', '--out', groupOut],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, timeout: 120_000 },
    ).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`demo --group exited with ${error.code}\n${error.stdout}\n${error.stderr}`);
    });
    console.log(stdout.slice(stdout.indexOf('verdict:')));
    expect(stdout).toContain('verdict: SAFE: every check held, in every partition');
    const verdict = JSON.parse(readFileSync(join(groupOut, 'verdict.json'), 'utf8')) as GroupVerdict;
    expect(verdict.violations).toEqual([]);
    expect(verdict.partitions).toBe(16);
    expect(verdict.acquisitions, 'every partition was owned').toBeGreaterThanOrEqual(16);
    expect(verdict.writesAccepted).toBeGreaterThan(0);
    expect(existsSync(join(groupOut, 'timeline.svg'))).toBe(true);
  }, 150_000);
});
