/**
 * The semaphore end to end: separate OS processes, real timers, a real DynamoDB server. Five
 * processes contend for a semaphore of limit 2 for several seconds, releasing, renewing and
 * stalling at random; the logs must show never more than 2 believers at once, one at a time per
 * slot with growing tokens, and no write accepted with a token below one already written for
 * that slot.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable } from '../lib/index.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

interface Tenure { holderId: string; slot: string; token: number; start: number; end: number; stalled: boolean }
/** A ledger write took effect somewhere between `sent` and `at` (when its answer arrived). */
interface Write { holderId: string; slot: string; write?: number; staleWrite?: number; accepted: boolean; sent: number; at: number }

const LIMIT = 2;
const PROCESSES = 5;

describe('a semaphore across real processes', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('semaphore-processes');
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-semaphore-'));
  const admin = clientFor(backend);

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => {
    admin.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`never has more than ${LIMIT} holders at once, one per slot with growing tokens, and refuses superseded holders' writes`, async () => {
    const workers = Array.from({ length: PROCESSES }, (_, i) => {
      const script = join(import.meta.dirname, 'processes/semaphore-holder.ts');
      const args = [backend.endpoint, tableName, 'exports', String(LIMIT), `worker-${i}`, join(dir, `${i}.log`), '8000'];
      const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      return once(child, 'exit');
    });
    expect((await Promise.all(workers)).map(([code]) => code)).toEqual(Array(PROCESSES).fill(0));

    const entries = Array.from({ length: PROCESSES }, (_, i) => i).flatMap((i) =>
      readFileSync(join(dir, `${i}.log`), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Tenure & Write),
    );
    const tenures = entries.filter((e) => e.start !== undefined).sort((a, b) => a.start - b.start);
    const writes = entries.filter((e) => e.write !== undefined || e.staleWrite !== undefined).sort((a, b) => a.at - b.at);
    const edges = tenures.flatMap((t) => [[t.start, 1], [t.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let believers = 0;
    let mostAtOnce = 0;
    for (const [, delta] of edges) mostAtOnce = Math.max(mostAtOnce, (believers += delta));
    console.log(
      `${tenures.length} tenures (${tenures.filter((t) => t.stalled).length} stalled) over ${new Set(tenures.map((t) => t.slot)).size} slots, ` +
        `at most ${mostAtOnce} at once; ${writes.filter((w) => w.accepted).length} writes accepted, ` +
        `${writes.filter((w) => w.staleWrite !== undefined && !w.accepted).length} stale writes refused`,
    );
    expect(tenures.length).toBeGreaterThan(8);
    expect(tenures.some((t) => t.stalled)).toBe(true);
    expect(new Set(tenures.map((t) => t.slot))).toEqual(new Set(['exports', 'exports[1]']));
    expect(mostAtOnce).toBeLessThanOrEqual(LIMIT);
    expect(mostAtOnce, 'the slots were held at once: the semaphore is not a mutex').toBe(LIMIT);
    expect(writes.some((w) => w.staleWrite !== undefined && !w.accepted), 'a stale write was attempted and refused').toBe(true);

    for (const slot of ['exports', 'exports[1]']) {
      const history = tenures.filter((t) => t.slot === slot);
      for (let i = 1; i < history.length; i++) {
        const [previous, next] = [history[i - 1]!, history[i]!];
        expect(next.token, `tokens of ${slot} grow with every acquisition`).toBeGreaterThan(previous.token);
        expect(next.start, `${next.holderId} took ${slot} before ${previous.holderId} stopped believing`).toBeGreaterThanOrEqual(previous.end);
      }
      const tokenOf = (write: Write) => write.write ?? write.staleWrite!;
      const slotWrites = writes.filter((w) => w.slot === slot);
      const accepted = slotWrites.filter((w) => w.accepted);
      for (const write of accepted) {
        const newerAnsweredBefore = accepted.find((other) => tokenOf(other) > tokenOf(write) && other.at < write.sent);
        expect(newerAnsweredBefore, `no write to ${slot} is accepted after a higher token of it was accepted`).toBeUndefined();
      }
      for (const refused of slotWrites.filter((w) => !w.accepted)) {
        expect(accepted.some((other) => tokenOf(other) > tokenOf(refused)), 'a refusal is always owed to a higher token of the same slot').toBe(true);
      }
    }
  }, 60_000);
});
