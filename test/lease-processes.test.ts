/**
 * The safety properties end to end: separate OS processes, real timers, a real DynamoDB server.
 * Four processes contend for one lease for several seconds, releasing, renewing and stalling at
 * random; the logs must show one holder at a time, growing tokens, and no write accepted with a
 * token below one already written.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable } from '../lib/index.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

interface Tenure { holderId: string; token: number; start: number; end: number; stalled: boolean }
/** A ledger write took effect somewhere between `sent` and `at` (when its answer arrived). */
interface Write { holderId: string; write?: number; staleWrite?: number; accepted: boolean; sent: number; at: number }

describe('leases across real processes', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('processes');
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-processes-'));
  const admin = clientFor(backend);

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => {
    admin.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps one holder at a time, growing tokens, and refuses writes from superseded holders', async () => {
    const workers = Array.from({ length: 4 }, (_, i) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'processes/lease-holder.ts'), backend.endpoint, tableName, 'job', `worker-${i}`, join(dir, `${i}.log`), '10000'],
        { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      );
      return once(child, 'exit');
    });
    const codes = (await Promise.all(workers)).map(([code]) => code);
    expect(codes).toEqual([0, 0, 0, 0]);

    const entries = [0, 1, 2, 3].flatMap((i) =>
      readFileSync(join(dir, `${i}.log`), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Tenure & Write),
    );
    const tenures = entries.filter((e) => e.start !== undefined).sort((a, b) => a.start - b.start);
    const writes = entries.filter((e) => e.write !== undefined || e.staleWrite !== undefined).sort((a, b) => a.at - b.at);
    console.log(
      `${tenures.length} tenures (${tenures.filter((t) => t.stalled).length} stalled), ` +
        `${writes.filter((w) => w.accepted).length} writes accepted, ` +
        `${writes.filter((w) => w.staleWrite !== undefined && !w.accepted).length} stale writes refused`,
    );
    expect(tenures.length).toBeGreaterThan(8);
    expect(tenures.some((t) => t.stalled)).toBe(true);
    expect(writes.some((w) => w.staleWrite !== undefined && !w.accepted), 'a stale write was attempted and refused').toBe(true);

    for (let i = 1; i < tenures.length; i++) {
      const [previous, next] = [tenures[i - 1]!, tenures[i]!];
      expect(next.token, 'tokens grow with every acquisition').toBeGreaterThan(previous.token);
      expect(next.start, `${next.holderId} began before ${previous.holderId} stopped believing`).toBeGreaterThanOrEqual(previous.end);
    }
    const tokenOf = (write: Write) => write.write ?? write.staleWrite!;
    const accepted = writes.filter((w) => w.accepted);
    for (const write of accepted) {
      const newerAnsweredBefore = accepted.find((other) => tokenOf(other) > tokenOf(write) && other.at < write.sent);
      expect(newerAnsweredBefore, 'no write is accepted after a higher token was accepted').toBeUndefined();
    }
    for (const refused of writes.filter((w) => !w.accepted)) {
      expect(accepted.some((other) => tokenOf(other) > tokenOf(refused)), 'a refusal is always owed to a higher token').toBe(true);
    }
  }, 60_000);
});
