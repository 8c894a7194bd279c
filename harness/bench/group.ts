/**
 * Lease groups (issue 15's targets), each beside its baseline or bound, measured in one run:
 *
 * 1. requests per hour: 1,000 partitions over 10 members, lease 10 s, at steady state, against
 *    the same ownership held with one lease per partition renewed every third of the lease
 *    (today's API; how KCL renews). Target: at most 1/50. Members in this process.
 * 2. failover: a worker process SIGKILLed; every partition owned by a live worker again within
 *    lease + skew + 1 s (p99).
 * 3. balance: max − min ≤ 1 within 3 lease periods after a crash, a join and a graceful leave.
 * 4. scale: the same members with 1,000 and with 10,000 partitions: requests per hour about equal
 *    (they grow with members and changes, not partitions × time), and client CPU per member under
 *    5 % of a core (this process's CPU divided by its members).
 *
 *   npx tsx harness/bench/group.ts [--quick] [--endpoint URL]   (or npm run bench -- --only group)
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { benchGroupFleet, type GroupFleetResult } from './group-fleet.js';
import { groupSteadyState, perLeaseSteadyState, type SteadyState } from './group-requests.js';
import { percentile } from './measure.js';

/** How big and how long each part runs. */
export interface GroupBenchOptions {
  endpoint: string;
  requests: { workers: number; partitions: number; leaseMs: number; skewMs: number; windowMs: number };
  fleet: { workers: number; partitions: number; leaseMs: number; skewMs: number; trials: number; leaves: number; steadyWindowMs: number };
  scale: { workers: number; partitions: readonly number[]; leaseMs: number; skewMs: number; windowMs: number };
  log?: (line: string) => void;
}

export interface GroupBenchResult {
  requests: { group: SteadyState; perLease: SteadyState; ratio: number; target: number; pass: boolean };
  fleet: GroupFleetResult & { failoverP50Ms: number; failoverP99Ms: number; failoverMaxMs: number; failoverPass: boolean; balanceMaxPeriods: number; balancePass: boolean };
  scale: { runs: SteadyState[]; requestsRatio: number; maxCpuPerMember: number; pass: boolean };
}

/**
 * The issue's sizes: lease 10 s, 10 trials, 10,000 partitions. `quick` keeps the requests bench at
 * full size with a shorter window, runs failover and balance with a 2 s lease, 5 workers, 200
 * partitions and 3 trials, and scales to 5,000 partitions.
 */
export function groupBenchOptions(endpoint: string, quick: boolean): GroupBenchOptions {
  return {
    endpoint,
    requests: { workers: 10, partitions: 1_000, leaseMs: 10_000, skewMs: 1_000, windowMs: quick ? 20_000 : 60_000 },
    fleet: quick
      ? { workers: 5, partitions: 200, leaseMs: 2_000, skewMs: 200, trials: 3, leaves: 1, steadyWindowMs: 5_000 }
      : { workers: 10, partitions: 1_000, leaseMs: 10_000, skewMs: 1_000, trials: 10, leaves: 3, steadyWindowMs: 30_000 },
    scale: { workers: 20, partitions: quick ? [1_000, 5_000] : [1_000, 10_000], leaseMs: 10_000, skewMs: 1_000, windowMs: quick ? 20_000 : 60_000 },
  };
}

/** Target 1: a group's requests at most this fraction of one renewed lease per partition. */
const REQUESTS_TARGET = 1 / 50;
/** Target 3: balanced within this many lease periods of a join or leave. */
const BALANCE_TARGET_PERIODS = 3;
/** Target 4: client CPU per member at steady state, a fraction of one core. */
const CPU_TARGET = 0.05;
/** Target 4: "about equal": requests per hour at the most partitions over those at the fewest. */
const SCALE_REQUESTS_TARGET = 1.25;

export async function benchGroups(o: GroupBenchOptions): Promise<GroupBenchResult> {
  const log = o.log ?? (() => {});
  const client = new DynamoDBClient(localClientConfig(o.endpoint));
  const tableName = `bench-group-${Date.now()}`;
  try {
    await createLeaseTable(client, tableName);
  } finally {
    client.destroy();
  }
  const rate = (s: SteadyState) => `${Math.round(s.requestsPerHour)} requests/h (${Object.entries(s.byOperationPerHour).map(([op, n]) => `${op} ${Math.round(n)}`).join(', ')})`;

  const r = o.requests;
  const group = await groupSteadyState({ ...r, endpoint: o.endpoint, tableName, group: 'requests' });
  log(`group, ${r.partitions} partitions over ${r.workers} members: ${rate(group)}, ${group.changes} changes in the window`);
  const perLease = await perLeaseSteadyState({ ...r, endpoint: o.endpoint, tableName, prefix: 'per-lease' });
  log(`one lease per partition: ${rate(perLease)}`);
  const ratio = group.requestsPerHour / perLease.requestsPerHour;

  const f = o.fleet;
  log(`failover and balance: ${f.workers} worker processes, ${f.partitions} partitions, lease ${f.leaseMs} ms, skew ${f.skewMs} ms, ${f.trials} trials, ${f.leaves} graceful leave(s)`);
  const fleet = await benchGroupFleet({ ...f, endpoint: o.endpoint, tableName, log });
  const { failoverMs, balanceMs } = fleet;
  const failoverP99Ms = percentile(failoverMs, 99);
  const balanceMaxPeriods = Math.max(...balanceMs.kill, ...balanceMs.join, ...balanceMs.leave) / fleet.leaseMs;

  const runs: SteadyState[] = [];
  for (const partitions of o.scale.partitions) {
    const run = await groupSteadyState({ ...o.scale, partitions, endpoint: o.endpoint, tableName, group: `scale-${partitions}` });
    log(`scale, ${partitions} partitions over ${o.scale.workers} members: ${rate(run)}, CPU ${(100 * run.cpuPerMember).toFixed(2)} % per member, ${run.changes} changes`);
    runs.push(run);
  }
  const requestsRatio = runs[runs.length - 1]!.requestsPerHour / runs[0]!.requestsPerHour;
  const maxCpuPerMember = Math.max(...runs.map((run) => run.cpuPerMember));

  return {
    requests: { group, perLease, ratio, target: REQUESTS_TARGET, pass: ratio <= REQUESTS_TARGET },
    fleet: {
      ...fleet,
      failoverP50Ms: percentile(failoverMs, 50),
      failoverP99Ms,
      failoverMaxMs: Math.max(...failoverMs),
      failoverPass: failoverP99Ms <= fleet.failoverBoundMs,
      balanceMaxPeriods,
      balancePass: balanceMaxPeriods <= BALANCE_TARGET_PERIODS,
    },
    scale: { runs, requestsRatio, maxCpuPerMember, pass: requestsRatio <= SCALE_REQUESTS_TARGET && maxCpuPerMember < CPU_TARGET },
  };
}

/** The result as table rows, each figure beside its baseline or bound, and PASS or FAIL. */
export function groupRows(result: GroupBenchResult): Record<string, Record<string, string>> {
  const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const { requests, fleet, scale } = result;
  const g = requests.group;
  const spread = (values: readonly number[], unit = (n: number) => `${(n / fleet.leaseMs).toFixed(2)}`) =>
    values.length === 0 ? '-' : `p50 ${unit(percentile(values, 50))} / max ${unit(Math.max(...values))} (${values.length})`;
  const units = (s: SteadyState) => `${int(s.unitsPerHour.writeUnits)} WCU + ${int(s.unitsPerHour.readUnits)} RCU`;
  return {
    [`group requests/h: ${g.partitions} partitions, ${g.workers} members, lease ${g.leaseMs} ms, window ${int(g.windowMs / 1_000)} s`]: {
      leasehold: `${int(g.requestsPerHour)} requests/h (${units(g)}/h)`,
      'baseline / target': `${int(requests.perLease.requestsPerHour)} requests/h one renewed lease per partition (${units(requests.perLease)}/h); ratio 1/${(1 / requests.ratio).toFixed(1)}, target <= 1/50: ${verdict(requests.pass)}`,
    },
    [`group failover after SIGKILL, ${fleet.workers} worker processes, ${fleet.partitions} partitions, lease ${fleet.leaseMs} + skew ${fleet.skewMs} ms`]: {
      leasehold: `p50 ${int(fleet.failoverP50Ms)} / p99 ${int(fleet.failoverP99Ms)} / max ${int(fleet.failoverMaxMs)} ms (${fleet.failoverMs.length} trials)`,
      'baseline / target': `bound lease + skew + 1 s = ${int(fleet.failoverBoundMs)} ms: ${verdict(fleet.failoverPass)}`,
    },
    'group balance (max - min <= 1), in lease periods, after a crash / join / graceful leave': {
      leasehold: `crash ${spread(fleet.balanceMs.kill)}; join ${spread(fleet.balanceMs.join)}; leave ${spread(fleet.balanceMs.leave)}`,
      'baseline / target': `<= 3 lease periods: ${verdict(fleet.balancePass)}`,
    },
    [`group steady state per worker process (${fleet.workers} workers, ${fleet.partitions} partitions)`]: {
      leasehold: `CPU ${spread(fleet.steady.cpuPerWorker, (n) => `${(100 * n).toFixed(2)} %`)}; ${spread(fleet.steady.requestsPerHourPerWorker, int)} requests/h`,
      'baseline / target': '< 5 % of a core',
    },
    ...Object.fromEntries(
      scale.runs.map((run) => [
        `group scale: ${run.partitions} partitions, ${run.workers} members (in one process)`,
        {
          leasehold: `${int(run.requestsPerHour)} requests/h (${units(run)}/h); CPU ${(100 * run.cpuPerMember).toFixed(2)} % of a core per member`,
          'baseline / target': run === scale.runs[0] ? 'the baseline for the row below' : `x${scale.requestsRatio.toFixed(2)} the requests of ${scale.runs[0]!.partitions} (target <= x${SCALE_REQUESTS_TARGET}), CPU < 5 %: ${verdict(scale.pass)}`,
        },
      ]),
    ),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, endpoint: { type: 'string' } } });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    const options = groupBenchOptions(values.endpoint ?? server!.endpoint, values.quick === true);
    const result = await benchGroups({ ...options, log: (line) => console.log(`  ${line}`) });
    console.table(groupRows(result));
  } finally {
    await server?.stop();
  }
}
