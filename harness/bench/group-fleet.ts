/**
 * A lease group of worker processes (`group-worker.ts`), each reporting every partition it takes
 * and loses on the shared clock. Measured:
 *
 * - failover: a random worker SIGKILLed at a random moment of its renewal cycle; the time from
 *   the kill until every partition is owned by a live worker again (bound: lease + skew + 1 s);
 * - balance: from that kill (a crash), from a new worker's join (it replaces the killed one), and
 *   from a graceful leave (`close()`), until every partition is owned by a live worker and
 *   max − min ≤ 1, in lease periods (target: 3);
 * - steady state: each worker process's CPU and requests over a window once balanced.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { historyNow } from '../proof/history.js';
import type { GroupWorkerCommand, GroupWorkerMessage, GroupWorkerOptions } from './group-worker.js';
import type { FleetOptions } from './group-requests.js';

export interface GroupFleetResult {
  workers: number;
  partitions: number;
  leaseMs: number;
  skewMs: number;
  trials: number;
  /** From each SIGKILL to every partition owned by a live worker. */
  failoverMs: number[];
  /** lease + skew + 1 s */
  failoverBoundMs: number;
  /** To balanced (all owned, max − min ≤ 1) after each kill, join and graceful leave. */
  balanceMs: { kill: number[]; join: number[]; leave: number[] };
  /** Steady state, per worker process: CPU as a fraction of one core, and requests per hour. */
  steady: { windowMs: number; cpuPerWorker: number[]; requestsPerHourPerWorker: number[] };
}

interface Worker {
  readonly id: string;
  readonly child: ChildProcess;
  readonly owned: Set<string>;
  /** Counted in the fleet: not killed, not leaving. */
  live: boolean;
  joiningAt: number | undefined;
  closedAt: number | undefined;
  stats: Extract<GroupWorkerMessage, { type: 'stats' }> | undefined;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

class Fleet {
  readonly workers = new Map<string, Worker>();
  private readonly owners = new Map<string, string>();
  private next = 0;
  private waiter: { done: () => boolean; resolve: (t: number) => void } | undefined;
  readonly failures: string[] = [];

  constructor(private readonly options: Omit<GroupWorkerOptions, 'id'>) {}

  spawn(): Worker {
    const id = `w${this.next++}`;
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'group-worker.ts'), JSON.stringify({ ...this.options, id })], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const worker: Worker = { id, child, owned: new Set(), live: true, joiningAt: undefined, closedAt: undefined, stats: undefined };
    this.workers.set(id, worker);
    child.on('message', (message: GroupWorkerMessage) => this.apply(worker, message));
    return worker;
  }

  private apply(worker: Worker, message: GroupWorkerMessage): void {
    if (message.type === 'joining') worker.joiningAt = message.t;
    else if (message.type === 'closed') worker.closedAt = message.t;
    else if (message.type === 'stats') worker.stats = message;
    else if (message.type === 'failed') this.failures.push(`${worker.id}: ${message.error}`);
    else if (worker.child.signalCode === null && !worker.child.killed) {
      for (const name of message.names) {
        if (message.type === 'acquired') {
          this.owners.set(name, worker.id);
          worker.owned.add(name);
        } else {
          if (this.owners.get(name) === worker.id) this.owners.delete(name);
          worker.owned.delete(name);
        }
      }
    }
    if (this.waiter?.done() && 't' in message) {
      this.waiter.resolve(message.t);
      this.waiter = undefined;
    }
  }

  kill(worker: Worker): void {
    worker.child.kill('SIGKILL');
    worker.live = false;
    for (const name of worker.owned) if (this.owners.get(name) === worker.id) this.owners.delete(name);
    worker.owned.clear();
  }

  close(worker: Worker): void {
    worker.live = false;
    worker.child.send({ type: 'close' } satisfies GroupWorkerCommand);
  }

  live(): Worker[] {
    return [...this.workers.values()].filter((worker) => worker.live);
  }

  /** Every partition owned by a live worker. */
  allOwned(): boolean {
    let owned = 0;
    for (const worker of this.live()) owned += worker.owned.size;
    return owned === this.options.partitions;
  }

  balanced(): boolean {
    const counts = this.live().map((worker) => worker.owned.size);
    return this.allOwned() && Math.max(...counts) - Math.min(...counts) <= 1;
  }

  describe(): string {
    return this.live().map((worker) => `${worker.id}:${worker.owned.size}`).join(' ');
  }

  /** The shared-clock time of the report that made `done` true (now, if it already is). */
  when(what: string, done: () => boolean, timeoutMs: number): Promise<number> {
    if (done()) return Promise.resolve(historyNow());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no ${what} within ${timeoutMs} ms (owned: ${this.describe()}; failures: ${this.failures.join('; ') || 'none'})`));
      }, timeoutMs);
      this.waiter = {
        done,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
    });
  }

  async stats(workers: readonly Worker[]): Promise<void> {
    for (const worker of workers) worker.stats = undefined;
    for (const worker of workers) worker.child.send({ type: 'stats' } satisfies GroupWorkerCommand);
    while (workers.some((worker) => worker.stats === undefined)) await delay(20);
  }

  stop(): void {
    for (const worker of this.workers.values()) worker.child.kill('SIGKILL');
  }
}

export async function benchGroupFleet(o: Omit<FleetOptions, 'windowMs'> & {
  trials: number;
  /** Graceful leaves after the trials (the fleet shrinks by one each). */
  leaves: number;
  steadyWindowMs: number;
  log?: (line: string) => void;
}): Promise<GroupFleetResult> {
  const log = o.log ?? (() => {});
  const fleet = new Fleet({ endpoint: o.endpoint, tableName: o.tableName, group: `fleet-${Date.now()}`, partitions: o.partitions, leaseMs: o.leaseMs, skewMs: o.skewMs });
  const timeoutMs = 20 * o.leaseMs + 30_000;
  const result: GroupFleetResult = {
    workers: o.workers,
    partitions: o.partitions,
    leaseMs: o.leaseMs,
    skewMs: o.skewMs,
    trials: o.trials,
    failoverMs: [],
    failoverBoundMs: o.leaseMs + o.skewMs + 1_000,
    balanceMs: { kill: [], join: [], leave: [] },
    steady: { windowMs: o.steadyWindowMs, cpuPerWorker: [], requestsPerHourPerWorker: [] },
  };
  const periods = (ms: number) => `${(ms / o.leaseMs).toFixed(2)} leases`;
  try {
    for (let i = 0; i < o.workers; i++) fleet.spawn();
    await fleet.when('first balance', () => fleet.balanced(), timeoutMs + 60_000);
    log(`fleet of ${o.workers} workers balanced: ${fleet.describe()}`);

    // Steady state: a lease for everyone to go idle, then the window.
    await delay(o.leaseMs);
    const steadyWorkers = fleet.live();
    await fleet.stats(steadyWorkers);
    const before = new Map(steadyWorkers.map((worker) => [worker.id, worker.stats!]));
    await delay(o.steadyWindowMs);
    await fleet.stats(steadyWorkers);
    for (const worker of steadyWorkers) {
      const start = before.get(worker.id)!;
      const end = worker.stats!;
      const ms = end.t - start.t;
      result.steady.cpuPerWorker.push((end.cpuUs - start.cpuUs) / 1_000 / ms);
      result.steady.requestsPerHourPerWorker.push(((end.requests - start.requests) * 3_600_000) / ms);
    }

    for (let trial = 1; trial <= o.trials; trial++) {
      // A random moment of the victim's renewal cycle (a third of the lease).
      await delay(500 + (Math.random() * o.leaseMs) / 3);
      const live = fleet.live();
      const victim = live[Math.floor(Math.random() * live.length)]!;
      const owned = victim.owned.size;
      const killedAt = historyNow();
      fleet.kill(victim);
      const recovered = (await fleet.when('recovery after a kill', () => fleet.allOwned(), timeoutMs)) - killedAt;
      const balanced = (await fleet.when('balance after a kill', () => fleet.balanced(), timeoutMs)) - killedAt;
      result.failoverMs.push(recovered);
      result.balanceMs.kill.push(balanced);

      const joiner = fleet.spawn();
      await fleet.when('a join', () => joiner.joiningAt !== undefined, timeoutMs);
      const joined = (await fleet.when('balance after a join', () => fleet.balanced(), timeoutMs)) - joiner.joiningAt!;
      result.balanceMs.join.push(joined);
      log(
        `trial ${trial}: killed ${victim.id} (${owned} partitions): all owned again in ${recovered.toFixed(0)} ms, balanced in ${periods(balanced)}; ` +
          `${joiner.id} joined: balanced in ${joined.toFixed(0)} ms = ${periods(joined)}`,
      );
    }

    for (let leave = 1; leave <= o.leaves; leave++) {
      await delay(500 + (Math.random() * o.leaseMs) / 3);
      const live = fleet.live();
      const leaver = live[Math.floor(Math.random() * live.length)]!;
      const owned = leaver.owned.size;
      const leftAt = historyNow();
      fleet.close(leaver);
      const balanced = (await fleet.when('balance after a leave', () => fleet.balanced(), timeoutMs)) - leftAt;
      result.balanceMs.leave.push(balanced);
      log(`leave ${leave}: ${leaver.id} closed (${owned} partitions): balanced in ${balanced.toFixed(0)} ms = ${periods(balanced)}`);
    }
    return result;
  } finally {
    fleet.stop();
  }
}
