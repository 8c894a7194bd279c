/**
 * The benchmarks, each in miniature, so `npm run bench` cannot rot between runs: they run end to
 * end on the reference server and their numbers mean what the README says. No timing is asserted
 * (these machines are shared); counts are.
 */
import { describe, expect, it } from 'vitest';
import { benchReaper } from '../harness/bench/reaper.js';
import { benchFailover } from '../harness/bench/failover.js';
import { benchContention } from '../harness/bench/contention.js';
import { benchAcquireRelease } from '../harness/bench/acquire-release.js';
import { benchSemaphore } from '../harness/bench/semaphore.js';
import { benchGroups, groupRows } from '../harness/bench/group.js';
import { referenceBackend } from './support/backends.js';

const backend = referenceBackend();

// The benchmarks sign with the local servers' fake credentials: they are not for a real table.
describe.skipIf(backend.name === 'endpoint')('the benchmarks, in miniature', () => {
  const { endpoint } = backend;

  it("acquire + release: leasehold, the raw floor and the replay of leasehold's own requests all run and are timed", async () => {
    const result = await benchAcquireRelease({ endpoint, iterations: 20 });
    for (const ms of [result.p50Ms, result.rawP50Ms, result.replayP50Ms]) expect(ms).toBeGreaterThan(0);
    expect(result.ratio).toBeCloseTo(result.p50Ms / result.rawP50Ms);
    expect(result.replayRatio).toBeCloseTo(result.replayP50Ms / result.rawP50Ms);
    expect(result.cpuRatio).toBeCloseTo(result.clientCpuUs.leasehold / result.clientCpuUs.raw);
    // leasehold's own share, against the same requests sent with none of its code.
    expect(result.overReplay.latency).toBeCloseTo(result.p50Ms / result.replayP50Ms);
    expect(result.overReplay.cpu).toBeCloseTo(result.clientCpuUs.leasehold / result.clientCpuUs.replay);
    for (const us of Object.values(result.clientCpuUs)) expect(us).toBeGreaterThan(0);
  }, 60_000);

  it('reaper: the same requests at ten times the table, while a Scan reads it all', async () => {
    const [small, large] = await benchReaper({ endpoint, sizes: [300, 3_000], expired: 30 });
    expect(small!.requests).toBe(large!.requests);
    // 8 shard queries (one page each) and one conditional write per expired lease.
    expect(large!.requests).toBe(8 + 30);
    expect(large!.scanBaselineReadUnits).toBeGreaterThan(5 * small!.scanBaselineReadUnits);
    expect(large!.readUnits).toBeLessThan(large!.scanBaselineReadUnits / 10);
  }, 60_000);

  it('failover: every library, leasehold and both peers, hands over after a SIGKILL', async () => {
    const result = await benchFailover({ endpoint, trials: 1, leaseMs: 1_000, skewMs: 100 });
    expect(Object.keys(result.peers).sort()).toEqual(['@deliveryhero/dynamodb-lock', 'dynamodb-lock-client']);
    for (const stats of [result, ...Object.values(result.peers)]) {
      expect(stats.gapsMs).toHaveLength(1);
      expect(stats.gapsMs[0]).toBeGreaterThan(0);
    }
  }, 90_000);

  // One leader throughout is the usual outcome, but not asserted: a renewal starved of CPU on a
  // shared runner misses its deadline and the lease rightly lapses. What no load may change is
  // asserted: one leader at a time, tokens growing, and every change of hands explained by a loss.
  it('contention: fifty contenders elect one leader at a time, with growing tokens', async () => {
    const result = await benchContention({ endpoint, contenders: 50, leaseMs: 1_000, skewMs: 100 });
    expect(result.mostLeadersAtOnce).toBe(1);
    expect(result.elections).toBeGreaterThanOrEqual(1);
    expect(result.losses.length).toBeGreaterThanOrEqual(result.elections - 1);
    expect(result.tokens).toEqual([...result.tokens].sort((a, b) => a - b));
    expect(new Set(result.tokens).size).toBe(result.tokens.length);
    expect(result.requestsPerSecondSettled).toBeLessThan(result.requestsPerSecondFirst);
  }, 60_000);

  it('semaphore: one request while nothing is held, never more than the limit, and a dead holder\'s slot taken by a waiter', async () => {
    const result = await benchSemaphore({ endpoint, limit: 4, heldCounts: [0, 3], trials: 3, failoverLimit: 2, failoverTrials: 1, leaseMs: 1_000, skewMs: 100 });
    const [free, full] = result.requests;
    expect(free).toMatchObject({ held: 0, semaphore: { mean: 1, max: 1 }, semaphoreWarm: { mean: 1, max: 1 }, inOrder: { mean: 1, max: 1 } });
    // Mutexes taken in order from 0 leave the free one last; a semaphore never sends more than its limit.
    expect(full).toMatchObject({ held: 3, inOrder: { mean: 4, max: 4 } });
    expect(full!.semaphore.max).toBeLessThanOrEqual(4);
    expect(full!.semaphoreWarm.max).toBeLessThanOrEqual(4);
    for (const stats of [result.failover.semaphore, result.failover.mutex]) {
      expect(stats.gapsMs).toHaveLength(1);
      expect(stats.gapsMs[0]).toBeGreaterThan(0);
      expect(stats.waitRequestsPerSecond).toBeGreaterThan(0);
    }
  }, 90_000);

  it('lease groups: requests against one lease per partition, failover and balance of worker processes, and scale all run and print their numbers', async () => {
    const lease = { leaseMs: 2_000, skewMs: 200 };
    const result = await benchGroups({
      endpoint,
      requests: { workers: 3, partitions: 30, ...lease, windowMs: 2_000 },
      fleet: { workers: 3, partitions: 30, ...lease, trials: 1, leaves: 1, steadyWindowMs: 1_000 },
      scale: { workers: 3, partitions: [30, 90], ...lease, windowMs: 2_000 },
    });
    expect(result.requests.group.requestsPerHour).toBeGreaterThan(0);
    expect(result.requests.perLease.requestsPerHour).toBeGreaterThan(0);
    expect(result.requests.ratio).toBeCloseTo(result.requests.group.requestsPerHour / result.requests.perLease.requestsPerHour);
    expect(result.fleet.failoverMs).toHaveLength(1);
    expect(result.fleet.balanceMs.kill).toHaveLength(1);
    expect(result.fleet.balanceMs.join).toHaveLength(1);
    expect(result.fleet.balanceMs.leave).toHaveLength(1);
    expect(result.fleet.steady.cpuPerWorker).toHaveLength(3);
    expect(result.scale.runs.map((run) => run.partitions)).toEqual([30, 90]);
    const rows = Object.values(groupRows(result));
    expect(rows).toHaveLength(6);
    expect(rows.filter((row) => /PASS|FAIL/.test(Object.values(row).join(' ')))).toHaveLength(4);
  }, 240_000);
});
