/**
 * `npm run bench`: every benchmark against one DynamoDB Local instance, in one run, each beside a
 * baseline measured in that same run (raw requests, a Scan, or the peer libraries). Prints a
 * table and writes the results as JSON.
 *
 *   npm run bench -- [--out FILE] [--quick] [--endpoint URL] [--only group]
 *
 * `--only group` runs only the lease group benchmarks (`group.ts`).
 *
 * `--quick` is a reduced run (under 3 minutes, and about 5 more for the lease groups): fewer
 * iterations, trials and lease periods, and a smaller reaper table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { benchAcquireRelease } from './acquire-release.js';
import { benchFailover } from './failover.js';
import { benchCost } from './cost.js';
import { benchReaper } from './reaper.js';
import { benchContention } from './contention.js';
import { benchImportTime } from './import-time.js';
import { benchSemaphore, semaphoreRows } from './semaphore.js';
import { benchGroups, groupBenchOptions, groupRows } from './group.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, quick: { type: 'boolean', default: false }, endpoint: { type: 'string' }, only: { type: 'string' } } });
if (values.only !== undefined && values.only !== 'group') throw new Error(`--only: the one selectable set is 'group', got '${values.only}'`);
const quick = values.quick === true;
const out = values.out ?? join('harness', 'bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const leaseMs = 2_000;
const skewMs = 200;
const log = (line: string) => console.log(`  ${line}`);

const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = values.endpoint ?? server!.endpoint;
const started = performance.now();
if (values.only === 'group') {
  try {
    console.log(`bench --only group${quick ? ' --quick' : ''} on ${server?.kind ?? endpoint} · ${cpus().length} CPUs · Node ${process.versions.node}`);
    const group = await benchGroups({ ...groupBenchOptions(endpoint, quick), log });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ backend: server?.kind ?? endpoint, quick, date: new Date().toISOString(), group }, null, 2)}\n`);
    console.log(`\nresults (${((performance.now() - started) / 1_000).toFixed(0)} s)`);
    console.table(groupRows(group));
    console.log(`\nwrote ${out}`);
  } finally {
    await server?.stop();
  }
  process.exit(0);
}
try {
  console.log(`bench${quick ? ' --quick' : ''} on ${server?.kind ?? endpoint} · ${cpus().length} CPUs · Node ${process.versions.node}`);
  console.log('acquire + release, uncontended...');
  const acquireRelease = await benchAcquireRelease({ endpoint, iterations: quick ? 300 : 2_000 });
  console.log('failover after SIGKILL of the leader...');
  const failover = await benchFailover({ endpoint, trials: quick ? 5 : 20, leaseMs, skewMs, log });
  console.log('requests and cost per hour of leadership...');
  const cost = await benchCost({ endpoint, leaseMs, skewMs, periods: quick ? 3 : 10, log });
  console.log('reaper against a Scan...');
  const [smallerTable, reaper] = await benchReaper({ endpoint, sizes: quick ? [2_000, 10_000] : [10_000, 100_000], expired: quick ? 100 : 1_000, log });
  console.log('contention...');
  const contention = await benchContention({ endpoint, contenders: 50, leaseMs, skewMs });
  console.log('semaphore: requests per acquisition, failover...');
  const semaphore = await benchSemaphore({ endpoint, trials: quick ? 5 : 20, failoverTrials: quick ? 3 : 10, leaseMs, skewMs, log });
  console.log('import time of a bundled singleton handler...');
  const importTime = await benchImportTime({ runs: quick ? 7 : 15 });
  console.log('lease groups: requests per hour, failover, balance, scale...');
  const group = await benchGroups({ ...groupBenchOptions(endpoint, quick), log });

  const cheapestPeer = Math.min(...Object.entries(cost.costPerLeaderHourUsd).filter(([name]) => name !== 'leasehold').map(([, usd]) => usd));
  const results = {
    backend: server?.kind ?? endpoint,
    quick,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.versions.node },
    acquireRelease,
    failover,
    requestsPerLeaderHour: cost.requestsPerLeaderHour,
    costPerLeaderHourUsd: cost.costPerLeaderHourUsd,
    requestsPerLeaderHour50: cost.requestsPerLeaderHour50,
    costPerLeaderHourUsd50: cost.costPerLeaderHourUsd50,
    followersRatio: cost.followersRatio,
    costLeaseMs: cost.leaseMs,
    failoverBoundMs: cost.failoverBoundMs,
    reaper: { ...reaper!, smallerTable: smallerTable! },
    contention,
    semaphore,
    importTime,
    group,
    targets: {
      acquireReleaseRatio: { target: 1.1, actual: acquireRelease.ratio },
      acquireReleaseCpuRatio: { target: 1.15, actual: acquireRelease.cpuRatio },
      failoverRatioP99: { target: 1.15, actual: failover.ratioP99 },
      costVsCheapestPeer: { target: 0.5, actual: cost.costPerLeaderHourUsd.leasehold! / cheapestPeer },
      followers4To50: { target: 1.5, actual: cost.followersRatio.leasehold! },
      reaperRequestsTableGrowth: { target: 1, actual: reaper!.requests / smallerTable!.requests },
      singletonImportRatio: { target: 1.1, actual: importTime.ratio },
      groupRequestsVsPerLease: { target: 1 / 50, actual: group.requests.ratio },
      groupFailoverP99VsBound: { target: 1, actual: group.fleet.failoverP99Ms / group.fleet.failoverBoundMs },
      groupBalanceLeasePeriods: { target: 3, actual: group.fleet.balanceMaxPeriods },
      groupScaleRequestsRatio: { target: 1.25, actual: group.scale.requestsRatio },
      groupCpuPerMember: { target: 0.05, actual: group.scale.maxCpuPerMember },
    },
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  const fixed = (n: number, digits = 2) => n.toFixed(digits);
  const usd = (n: number | undefined) => (n === undefined ? '-' : `$${n.toFixed(5)}`);
  const names = Object.keys(cost.costPerLeaderHourUsd);
  console.log(`\nresults (${((performance.now() - started) / 1_000).toFixed(0)} s)`);
  console.table({
    'acquire+release p50 / p99 ms': {
      leasehold: `${fixed(acquireRelease.p50Ms)} / ${fixed(acquireRelease.p99Ms)}`,
      baseline: `${fixed(acquireRelease.rawP50Ms)} / ${fixed(acquireRelease.rawP99Ms)} (2 raw UpdateItem); p50 ${fixed(acquireRelease.replayP50Ms)} replaying leasehold's own 2 requests (leasehold ${fixed(acquireRelease.overReplay.latency)} x that)`,
    },
    'acquire+release client CPU µs per pair': {
      leasehold: fixed(acquireRelease.clientCpuUs.leasehold, 0),
      baseline: `${fixed(acquireRelease.clientCpuUs.raw, 0)} (2 raw UpdateItem); ${fixed(acquireRelease.clientCpuUs.replay, 0)} replaying leasehold's own 2 requests (leasehold ${fixed(acquireRelease.overReplay.cpu)} x that)`,
    },
    [`failover p50 / p99 ms (lease ${leaseMs} + skew ${skewMs})`]: {
      leasehold: `${fixed(failover.p50Ms, 0)} / ${fixed(failover.p99Ms, 0)}`,
      ...Object.fromEntries(Object.entries(failover.peers).map(([peer, p]) => [peer, `${fixed(p.p50Ms, 0)} / ${fixed(p.p99Ms, 0)}`])),
    },
    [`requests per leader-hour (4 followers; failover bound ${cost.failoverBoundMs} ms)`]: Object.fromEntries(names.map((n) => [n, Math.round(cost.requestsPerLeaderHour[n]!)])),
    'cost per leader-hour (4 followers)': Object.fromEntries(names.map((n) => [n, usd(cost.costPerLeaderHourUsd[n])])),
    'cost per leader-hour (50 followers)': Object.fromEntries(names.map((n) => [n, usd(cost.costPerLeaderHourUsd50[n])])),
    [`reaper: ${reaper!.leases} leases, ${reaper!.expired} expired (requests / ms / read units)`]: {
      leasehold: `${reaper!.requests} / ${fixed(reaper!.ms, 0)} / ${reaper!.readUnits}`,
      baseline: `${reaper!.scanBaselineRequests} / ${fixed(reaper!.scanBaselineMs, 0)} / ${reaper!.scanBaselineReadUnits} (Scan)`,
    },
    [`contention: ${contention.contenders} contenders`]: {
      leasehold: `first leader ${fixed(contention.timeToFirstLeaderMs, 0)} ms · ${fixed(contention.requestsPerSecondFirst, 1)} req/s, then ${fixed(contention.requestsPerSecondSettled, 1)} · ${contention.elections} election(s)`,
      baseline: `${fixed(contention.rawTwoRoundTripsMs, 0)} ms (2 raw round trips, 50 fresh clients)`,
    },
    ...semaphoreRows(semaphore),
    [`import of a bundled handler, median / p90 ms (${importTime.runs} runs)`]: {
      leasehold: `${fixed(importTime.singleton.medianMs, 1)} / ${fixed(importTime.singleton.p90Ms, 1)} (singleton, ${fixed(importTime.singleton.bytes / 1024, 1)} KiB)`,
      baseline: `${fixed(importTime.baseline.medianMs, 1)} / ${fixed(importTime.baseline.p90Ms, 1)} (lib-dynamodb alone)`,
    },
  });
  console.table(groupRows(group));
  console.log('targets:');
  for (const [name, { target, actual }] of Object.entries(results.targets)) {
    console.log(`  ${name.padEnd(28)} ${fixed(actual)} (target <= ${target}) ${actual <= target ? 'met' : 'NOT MET'}`);
  }
  console.log(`\nwrote ${out}`);
} finally {
  await server?.stop();
}
