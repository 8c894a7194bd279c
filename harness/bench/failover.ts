/**
 * Failover after SIGKILL of the leader: a leader process holds the lock, a contender process is
 * already waiting, and the leader is killed at a random moment of its renewal cycle; the gap is
 * from the kill to the contender leading, on the shared clock. The same scenario at the same
 * lease length for leasehold and each peer; trials chain (each contender becomes the next leader).
 *
 *   npx tsx bench/failover.ts [--trials 20] [--endpoint URL]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { historyNow } from '../proof/history.js';
import { percentile } from './measure.js';
import { contenders as allContenders, type Contender, type ContenderOptions } from './peers/index.js';
import type { FailoverWorkerMessage } from './failover-worker.js';

export interface FailoverStats {
  p50Ms: number;
  p99Ms: number;
  /** p99Ms / (leaseMs + skewMs) */
  ratioP99: number;
  gapsMs: number[];
}

export interface FailoverResult extends FailoverStats {
  leaseMs: number;
  skewMs: number;
  trials: number;
  peers: Record<string, FailoverStats>;
}

interface Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly leading: Promise<number>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function startWorker(contender: Contender, options: ContenderOptions): Worker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'failover-worker.ts'), JSON.stringify({ contender: contender.name, options })],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' } },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  const message = <T extends FailoverWorkerMessage['type']>(type: T) =>
    new Promise<Extract<FailoverWorkerMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (m: FailoverWorkerMessage) => {
        if (m.type === type) resolve(m as Extract<FailoverWorkerMessage, { type: T }>);
      };
      child.on('message', onMessage);
      child.once('exit', (code, signal) => reject(new Error(`${contender.name} worker exited (${signal ?? code}) before '${type}'`)));
    });
  const ready = message('ready').then(() => {});
  const leading = message('leading').then((m) => m.t);
  // Rejections matter only for the promise being awaited; the rest are expected (a killed worker).
  ready.catch(() => {});
  leading.catch(() => {});
  return { child, ready, leading };
}

async function trialsOf(contender: Contender, o: { endpoint: string; trials: number; leaseMs: number; skewMs: number; log: (line: string) => void }): Promise<number[]> {
  const tableName = `bench-failover-${contender.name.replace(/[^a-z0-9]/gi, '')}-${Date.now()}`;
  await contender.createTable(o.endpoint, tableName);
  const optionsFor = (id: string): ContenderOptions => ({ endpoint: o.endpoint, tableName, lockName: 'failover', id, leaseMs: o.leaseMs, skewMs: o.skewMs });
  let leader = startWorker(contender, optionsFor('p0'));
  const gaps: number[] = [];
  try {
    await leader.leading;
    for (let i = 1; i <= o.trials; i++) {
      const next = startWorker(contender, optionsFor(`p${i}`));
      await next.ready;
      // A second for its first look, then a random moment of the leader's renewal cycle.
      await delay(1_000 + Math.random() * o.leaseMs);
      const killedAt = historyNow();
      leader.child.kill('SIGKILL');
      const timeout = delay(10 * o.leaseMs).then(() => Promise.reject(new Error(`${contender.name}: no new leader in ${10 * o.leaseMs} ms`)));
      gaps.push((await Promise.race([next.leading, timeout])) - killedAt);
      leader = next;
    }
  } finally {
    leader.child.kill('SIGKILL');
  }
  o.log(`failover ${contender.name}: ${gaps.map((g) => g.toFixed(0)).join(' ')} ms`);
  return gaps;
}

export async function benchFailover(o: {
  endpoint: string;
  trials: number;
  leaseMs: number;
  skewMs: number;
  contenders?: readonly Contender[];
  log?: (line: string) => void;
}): Promise<FailoverResult> {
  const stats: Record<string, FailoverStats> = {};
  for (const contender of o.contenders ?? allContenders) {
    const gapsMs = await trialsOf(contender, { ...o, log: o.log ?? (() => {}) });
    const p99Ms = percentile(gapsMs, 99);
    stats[contender.name] = { p50Ms: percentile(gapsMs, 50), p99Ms, ratioP99: p99Ms / (o.leaseMs + o.skewMs), gapsMs };
  }
  const { leasehold, ...peers } = stats;
  return { leaseMs: o.leaseMs, skewMs: o.skewMs, trials: o.trials, ...leasehold!, peers };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '20' }, endpoint: { type: 'string' } } });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    const result = await benchFailover({ endpoint: values.endpoint ?? server!.endpoint, trials: Number(values.trials), leaseMs: 2_000, skewMs: 200, log: console.log });
    const { peers, gapsMs: _, ...leasehold } = result;
    console.table({ leasehold, ...Object.fromEntries(Object.entries(peers).map(([name, { gapsMs: __, ...s }]) => [name, s])) });
  } finally {
    await server?.stop();
  }
}
