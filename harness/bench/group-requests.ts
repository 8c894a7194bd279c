/**
 * Lease groups in one process: what a balanced fleet asks of the table per hour, beside the same
 * ownership held with one renewed lease per partition (today's API, `tryAcquire` and a renewal
 * every third of the lease, which is how KCL renews), and how it scales with partitions.
 *
 * Every member has its own `LeaseClient` and `DynamoDBClient`; every request is counted by an SDK
 * hook (`measure.ts`), which asks DynamoDB for each one's consumed capacity, so the units are the
 * server's own (item sizes and index writes included: a member publishes the names it owns in its
 * session item).
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseClient, LeaseGroup, type Lease } from '../../lib/index.js';
import { renewWhileHeld } from '../../lib/elector/renewal.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import { countRequests, emptyCounts, type RequestCounts } from './measure.js';

/** Capacity units as DynamoDB reported them. */
export interface Capacity {
  readUnits: number;
  writeUnits: number;
}

/** What a fleet sent over a steady-state window, extrapolated to an hour. */
export interface SteadyState {
  workers: number;
  partitions: number;
  leaseMs: number;
  windowMs: number;
  requestsPerHour: number;
  /** Read and write units per hour, as the server counted them. */
  unitsPerHour: Capacity;
  byOperationPerHour: Record<string, number>;
  /** Process CPU (user + system) over the window, divided by the members: a fraction of one core per member. */
  cpuPerMember: number;
  /** Acquisitions and losses during the window (0 at a true steady state). */
  changes: number;
}

/** The counters every client of one measurement shares, and a window over them. */
class Meter {
  readonly counts: RequestCounts = emptyCounts();
  changes = 0;
  private started = { at: 0, cpu: process.cpuUsage() };

  client(endpoint: string): DynamoDBClient {
    return countRequests(new DynamoDBClient(localClientConfig(endpoint)), this.counts);
  }

  start(): void {
    Object.assign(this.counts, emptyCounts());
    this.changes = 0;
    this.started = { at: performance.now(), cpu: process.cpuUsage() };
  }

  read(members: number, partitions: number, leaseMs: number): SteadyState {
    const windowMs = performance.now() - this.started.at;
    const cpu = process.cpuUsage(this.started.cpu);
    const perHour = 3_600_000 / windowMs;
    return {
      workers: members,
      partitions,
      leaseMs,
      windowMs,
      requestsPerHour: this.counts.requests * perHour,
      unitsPerHour: { readUnits: this.counts.readUnits * perHour, writeUnits: this.counts.writeUnits * perHour },
      byOperationPerHour: Object.fromEntries(Object.entries(this.counts.byOperation).map(([op, n]) => [op, n * perHour])),
      cpuPerMember: (cpu.user + cpu.system) / 1_000 / windowMs / members,
      changes: this.changes,
    };
  }
}

async function until(what: () => string, done: () => boolean, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (!done()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await delay(50);
  }
}

export interface FleetOptions {
  endpoint: string;
  tableName: string;
  workers: number;
  partitions: number;
  leaseMs: number;
  skewMs: number;
  /** The steady-state window, in ms. */
  windowMs: number;
}

/**
 * `workers` lease group members in this process share `partitions` (random session ids, the
 * default); once every partition is owned and max − min ≤ 1, and a lease period more has passed for every member to publish and go idle,
 * the window is measured.
 */
export async function groupSteadyState(o: FleetOptions & { group: string }): Promise<SteadyState> {
  const meter = new Meter();
  const owners = new Map<string, number>();
  const clients = Array.from({ length: o.workers }, () => meter.client(o.endpoint));
  const groups = clients.map((client, i) => {
    const leases = new LeaseClient({ tableName: o.tableName, client, holderId: `member-${i}`, skewMs: o.skewMs });
    const group = new LeaseGroup({ leases, group: o.group, names: { count: o.partitions }, leaseMs: o.leaseMs });
    group.on('acquired', ({ name }) => {
      owners.set(name, i);
      meter.changes++;
    });
    group.on('lost', ({ name }) => {
      if (owners.get(name) === i) owners.delete(name);
      meter.changes++;
    });
    group.on('error', () => {});
    return group;
  });
  const runs = groups.map((group) => group.run(({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))));
  try {
    await until(() => `${o.partitions} partitions balanced over ${o.workers} members (owned: ${countsOf(owners, o.workers).join(' ')})`, () => isBalanced(owners, o.partitions, o.workers), 20 * o.leaseMs + o.partitions * 20);
    await delay(o.leaseMs);
    meter.start();
    await delay(o.windowMs);
    return meter.read(o.workers, o.partitions, o.leaseMs);
  } finally {
    await Promise.allSettled(groups.map((group) => group.close({ drainMs: 0 })));
    await Promise.allSettled(runs);
    for (const client of clients) client.destroy();
  }
}

function countsOf(owners: ReadonlyMap<string, number>, workers: number): number[] {
  const counts = new Array<number>(workers).fill(0);
  for (const member of owners.values()) counts[member]!++;
  return counts;
}

function isBalanced(owners: ReadonlyMap<string, number>, partitions: number, workers: number): boolean {
  if (owners.size !== partitions) return false;
  const counts = countsOf(owners, workers);
  return Math.max(...counts) - Math.min(...counts) <= 1;
}

/**
 * The baseline: the same `partitions` held by `workers` clients with one lease each, taken with
 * `tryAcquire` and renewed every third of the lease (`renewWhileHeld`, as the elector's leader
 * renews). It sends nothing to find or balance owners; it is only the renewals.
 */
export async function perLeaseSteadyState(o: FleetOptions & { prefix: string }): Promise<SteadyState> {
  const meter = new Meter();
  const clients = Array.from({ length: o.workers }, () => meter.client(o.endpoint));
  const held: Lease[] = [];
  const loops: Promise<void>[] = [];
  try {
    await Promise.all(
      clients.map(async (client, w) => {
        const leases = new LeaseClient({ tableName: o.tableName, client, holderId: `worker-${w}`, skewMs: o.skewMs });
        for (let p = w; p < o.partitions; p += o.workers) {
          const lease = await leases.tryAcquire(`${o.prefix}#${p}`, { leaseMs: o.leaseMs });
          if (!lease) throw new Error(`baseline: ${o.prefix}#${p} is held`);
          held.push(lease);
          loops.push(renewWhileHeld(lease, { clock: leases.clock, leaseMs: o.leaseMs, renewEveryMs: o.leaseMs / 3, onFailed: () => meter.changes++ }));
        }
      }),
    );
    // One renewal period for the renewals to spread out as they run from then on.
    await delay(o.leaseMs / 3);
    meter.start();
    await delay(o.windowMs);
    return meter.read(o.workers, o.partitions, o.leaseMs);
  } finally {
    await Promise.allSettled(held.map((lease) => lease.release()));
    await Promise.allSettled(loops);
    for (const client of clients) client.destroy();
  }
}
