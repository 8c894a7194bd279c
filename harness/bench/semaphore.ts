/**
 * The counting semaphore, each figure beside a baseline measured in the same run:
 *
 * - requests per acquisition with k of N slots held by others: a fresh `Semaphore` (random
 *   order), the same instance's next acquisition (it skips the slots it saw busy), and N separate
 *   mutexes every caller tries in order from 0 (picking by hand, without a semaphore);
 * - failover: N holder processes, a waiter process, one holder SIGKILLed at a random moment; the
 *   gap from the kill to the waiter holding its slot, and what the wait cost in requests per
 *   second. Baseline: a waiter on the one mutex that will die, as if it knew which.
 *
 *   npx tsx harness/bench/semaphore.ts [--limit 10] [--trials 20] [--failover-trials 10] [--endpoint URL]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaseClient, Semaphore, type Lease } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { historyNow } from '../proof/history.js';
import { countRequests, emptyCounts, percentile, type RequestCounts } from './measure.js';
import type { SemaphoreWorkerMessage, SemaphoreWorkerOptions } from './semaphore-worker.js';

/** Requests one acquisition sent, with `held` of the slots held by others, averaged over the trials. */
export interface SemaphoreRequestsRow {
  /** Slots held by others when the acquisition starts. */
  held: number;
  /** A fresh `Semaphore`'s `tryAcquire`: mean, and the most any trial sent. */
  semaphore: { mean: number; max: number };
  /** The same instance's next `tryAcquire`, after releasing the slot it won. */
  semaphoreWarm: { mean: number; max: number };
  /** Baseline: N mutexes, every caller (the holders too) trying them in order from 0. */
  inOrder: { mean: number; max: number };
}

/** Failover of one kind of waiter. */
export interface SemaphoreFailoverStats {
  p50Ms: number;
  p99Ms: number;
  /** From the SIGKILL of a holder to the waiter holding, on the shared clock. */
  gapsMs: number[];
  /** What each waiter's wait cost, requests per second of waiting. */
  waitRequestsPerSecond: number;
}

export interface SemaphoreBenchResult {
  limit: number;
  trials: number;
  requests: SemaphoreRequestsRow[];
  failover: {
    limit: number;
    leaseMs: number;
    skewMs: number;
    trials: number;
    semaphore: SemaphoreFailoverStats;
    /** Baseline: the waiter waits on the one mutex that will die. */
    mutex: SemaphoreFailoverStats;
  };
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Mean and maximum of per-trial request counts. */
const summary = (values: readonly number[]) => ({ mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) });

/** Counts what `run` sends through `counts`. */
async function requestsOf(counts: RequestCounts, run: () => Promise<unknown>): Promise<number> {
  const before = counts.requests;
  await run();
  return counts.requests - before;
}

async function requestsPerAcquisition(o: {
  client: DynamoDBClient;
  counted: DynamoDBClient;
  counts: RequestCounts;
  tableName: string;
  limit: number;
  held: number;
  trials: number;
}): Promise<SemaphoreRequestsRow> {
  const leasesOf = (id: string, client = o.client) => new LeaseClient({ tableName: o.tableName, client, holderId: id });
  const acquire = { leaseMs: 60_000 };
  const cold: number[] = [];
  const warm: number[] = [];
  const inOrder: number[] = [];
  for (let trial = 0; trial < o.trials; trial++) {
    const name = `requests-${o.held}-${trial}`;
    for (let h = 0; h < o.held; h++) await new Semaphore({ leases: leasesOf(`holder-${h}`), name, limit: o.limit }).tryAcquire(acquire);
    const mine = new Semaphore({ leases: leasesOf('measured', o.counted), name, limit: o.limit });
    let lease: Lease | undefined;
    cold.push(await requestsOf(o.counts, async () => (lease = await mine.tryAcquire(acquire))));
    await lease?.release();
    warm.push(await requestsOf(o.counts, async () => (lease = await mine.tryAcquire(acquire))));
    await lease?.release();

    const mutexes = Array.from({ length: o.limit }, (_, i) => `${name}/mutex-${i}`);
    const firstFree = async (leases: LeaseClient) => {
      for (const mutex of mutexes) if (await leases.tryAcquire(mutex, acquire)) return;
    };
    for (let h = 0; h < o.held; h++) await firstFree(leasesOf(`holder-${h}`));
    inOrder.push(await requestsOf(o.counts, () => firstFree(leasesOf('measured', o.counted))));
  }
  return { held: o.held, semaphore: summary(cold), semaphoreWarm: summary(warm), inOrder: summary(inOrder) };
}

interface Worker {
  readonly child: ChildProcess;
  readonly waiting: Promise<void>;
  readonly holding: Promise<Extract<SemaphoreWorkerMessage, { type: 'holding' }>>;
}

function startWorker(options: SemaphoreWorkerOptions): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'semaphore-worker.ts'), JSON.stringify(options)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const message = <T extends SemaphoreWorkerMessage['type']>(type: T) =>
    new Promise<Extract<SemaphoreWorkerMessage, { type: T }>>((resolve, reject) => {
      child.on('message', (m: SemaphoreWorkerMessage) => {
        if (m.type === type) resolve(m as Extract<SemaphoreWorkerMessage, { type: T }>);
      });
      child.once('exit', (code, signal) => reject(new Error(`${options.id} exited (${signal ?? code}) before '${type}'`)));
    });
  const waiting = message('waiting').then(() => {});
  const holding = message('holding');
  // Rejections matter only for the promise being awaited; the rest are expected (a killed worker).
  waiting.catch(() => {});
  holding.catch(() => {});
  return { child, waiting, holding };
}

/**
 * `limit` holders, then per trial a waiter and the SIGKILL of a random holder; the waiter then
 * holds and renews, and takes the dead one's place. `mutex`: each holder has its own mutex, and
 * the waiter waits on the one about to die.
 */
async function failoverTrials(o: { endpoint: string; tableName: string; limit: number; trials: number; leaseMs: number; skewMs: number; mutex: boolean }): Promise<SemaphoreFailoverStats> {
  const name = o.mutex ? 'failover-mutex' : 'failover-semaphore';
  const optionsFor = (id: string, mutex: number): SemaphoreWorkerOptions => ({
    endpoint: o.endpoint,
    tableName: o.tableName,
    id,
    name: o.mutex ? `${name}/${mutex}` : name,
    limit: o.mutex ? undefined : o.limit,
    leaseMs: o.leaseMs,
    skewMs: o.skewMs,
  });
  const holders = Array.from({ length: o.limit }, (_, i) => startWorker(optionsFor(`holder-${i}`, i)));
  const gapsMs: number[] = [];
  const waits: { requests: number; waitedMs: number }[] = [];
  try {
    await Promise.all(holders.map((h) => h.holding));
    for (let trial = 0; trial < o.trials; trial++) {
      const victim = Math.floor(Math.random() * o.limit);
      const waiter = startWorker(optionsFor(`waiter-${trial}`, victim));
      await waiter.waiting;
      // A random moment of the holders' renewal cycle, after the waiter's first looks.
      await delay(500 + Math.random() * o.leaseMs);
      const killedAt = historyNow();
      holders[victim]!.child.kill('SIGKILL');
      const timeout = delay(10 * o.leaseMs).then(() => Promise.reject(new Error(`no slot taken in ${10 * o.leaseMs} ms`)));
      const held = await Promise.race([waiter.holding, timeout]);
      gapsMs.push(held.t - killedAt);
      waits.push(held);
      holders[victim] = waiter;
    }
  } finally {
    for (const holder of holders) holder.child.kill('SIGKILL');
  }
  const requests = waits.reduce((sum, w) => sum + w.requests, 0);
  const seconds = waits.reduce((sum, w) => sum + w.waitedMs, 0) / 1_000;
  return { p50Ms: percentile(gapsMs, 50), p99Ms: percentile(gapsMs, 99), gapsMs, waitRequestsPerSecond: requests / seconds };
}

export async function benchSemaphore(o: {
  endpoint: string;
  /** The semaphore's limit for the request counts. @default 10 */
  limit?: number;
  /** How many slots others hold, one row each. @default 0, half, all but one */
  heldCounts?: readonly number[];
  trials: number;
  /** Holders in the failover runs (the semaphore's limit there). @default 3 */
  failoverLimit?: number;
  failoverTrials: number;
  leaseMs: number;
  skewMs: number;
  log?: (line: string) => void;
}): Promise<SemaphoreBenchResult> {
  const limit = o.limit ?? 10;
  const failoverLimit = o.failoverLimit ?? 3;
  const log = o.log ?? (() => {});
  const tableName = `bench-semaphore-${Date.now()}`;
  const client = new DynamoDBClient(localClientConfig(o.endpoint));
  const counts = emptyCounts();
  const counted = countRequests(new DynamoDBClient(localClientConfig(o.endpoint)), counts);
  try {
    await createLeaseTable(client, tableName);
    const requests: SemaphoreRequestsRow[] = [];
    for (const held of o.heldCounts ?? [0, Math.floor(limit / 2), limit - 1]) {
      const row = await requestsPerAcquisition({ client, counted, counts, tableName, limit, held, trials: o.trials });
      log(`requests per acquisition, ${held} of ${limit} held: semaphore ${row.semaphore.mean.toFixed(2)}, warm ${row.semaphoreWarm.mean.toFixed(2)}, in order ${row.inOrder.mean.toFixed(2)}`);
      requests.push(row);
    }
    const failover = { endpoint: o.endpoint, tableName, limit: failoverLimit, trials: o.failoverTrials, leaseMs: o.leaseMs, skewMs: o.skewMs };
    const semaphore = await failoverTrials({ ...failover, mutex: false });
    log(`semaphore failover: ${semaphore.gapsMs.map((g) => g.toFixed(0)).join(' ')} ms`);
    const mutex = await failoverTrials({ ...failover, mutex: true });
    log(`mutex failover: ${mutex.gapsMs.map((g) => g.toFixed(0)).join(' ')} ms`);
    return { limit, trials: o.trials, requests, failover: { limit: failoverLimit, leaseMs: o.leaseMs, skewMs: o.skewMs, trials: o.failoverTrials, semaphore, mutex } };
  } finally {
    client.destroy();
    counted.destroy();
  }
}

/** The result as table rows, for `npm run bench` and a run of this file alone. */
export function semaphoreRows(result: SemaphoreBenchResult): Record<string, Record<string, string>> {
  const fixed = (n: number, digits = 2) => n.toFixed(digits);
  const { failover } = result;
  const gaps = (s: SemaphoreFailoverStats) => `${fixed(s.p50Ms, 0)} / ${fixed(s.p99Ms, 0)} ms, waiting ${fixed(s.waitRequestsPerSecond, 1)} req/s`;
  return {
    ...Object.fromEntries(
      result.requests.map((row) => [
        `semaphore requests per acquisition, ${row.held} of ${result.limit} held (mean / max)`,
        {
          leasehold: `${fixed(row.semaphore.mean)} / ${row.semaphore.max}; ${fixed(row.semaphoreWarm.mean)} / ${row.semaphoreWarm.max} for the same instance's next`,
          baseline: `${fixed(row.inOrder.mean)} / ${row.inOrder.max} (${result.limit} mutexes tried in order)`,
        },
      ]),
    ),
    [`semaphore failover p50 / p99, ${failover.limit} holders, one SIGKILLed (lease ${failover.leaseMs} + skew ${failover.skewMs})`]: {
      leasehold: gaps(failover.semaphore),
      baseline: `${gaps(failover.mutex)} (waiting on the one mutex that dies)`,
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { limit: { type: 'string', default: '10' }, trials: { type: 'string', default: '20' }, 'failover-trials': { type: 'string', default: '10' }, endpoint: { type: 'string' } },
  });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    const result = await benchSemaphore({
      endpoint: values.endpoint ?? server!.endpoint,
      limit: Number(values.limit),
      trials: Number(values.trials),
      failoverTrials: Number(values['failover-trials']),
      leaseMs: 2_000,
      skewMs: 200,
      log: console.log,
    });
    console.table(semaphoreRows(result));
  } finally {
    await server?.stop();
  }
}
