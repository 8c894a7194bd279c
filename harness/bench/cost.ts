/**
 * What an election costs the table per hour of leadership: 1 leader + 4 followers, then 1 leader
 * + 50, every participant with its own client in this process, every request counted by an SDK
 * hook and billed at on-demand prices (`measure.ts`). leasehold and each peer are run at the same
 * failover bound: leasehold's is lease + skew; a peer contender waits a whole lease after its
 * read and, finding the lease renewed meanwhile, another, so its bound is two leases: the peers
 * get half of (lease + skew).
 *
 *   npx tsx bench/cost.ts [--periods 10] [--endpoint URL]
 */
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { costUsd, emptyCounts } from './measure.js';
import { contenders as allContenders, type Contender } from './peers/index.js';

export interface CostResult {
  /** The same failover bound for all, and the lease each library got to meet it. */
  failoverBoundMs: number;
  leaseMs: Record<string, number>;
  /** 1 leader + 4 followers. */
  requestsPerLeaderHour: Record<string, number>;
  costPerLeaderHourUsd: Record<string, number>;
  /** 1 leader + 50 followers. */
  requestsPerLeaderHour50: Record<string, number>;
  costPerLeaderHourUsd50: Record<string, number>;
  /** costPerLeaderHourUsd50 / costPerLeaderHourUsd: how each scales with followers. */
  followersRatio: Record<string, number>;
}

async function measure(contender: Contender, o: { endpoint: string; tableName: string; leaseMs: number; skewMs: number; followers: number; measureMs: number }) {
  const counts = emptyCounts();
  const lockName = `cost-${o.followers}`;
  const start = (id: string, onLeading: () => void) =>
    contender.start({ endpoint: o.endpoint, tableName: o.tableName, lockName, id, leaseMs: o.leaseMs, skewMs: o.skewMs, counts }, onLeading);
  let leading!: () => void;
  const elected = new Promise<void>((resolve) => (leading = resolve));
  const participants = [start('leader', () => leading())];
  await elected;
  for (let i = 0; i < o.followers; i++) participants.push(start(`follower-${i}`, () => {}));
  // Two leases for every follower to make its first look and settle into its waiting rhythm.
  await delay(2 * o.leaseMs);
  Object.assign(counts, emptyCounts());
  await delay(o.measureMs);
  const perHour = 3_600_000 / o.measureMs;
  const result = { requests: counts.requests * perHour, usd: costUsd(counts) * perHour };
  await Promise.all(participants.map((p) => p.stop()));
  return result;
}

export async function benchCost(o: {
  endpoint: string;
  leaseMs: number;
  skewMs: number;
  periods: number;
  contenders?: readonly Contender[];
  log?: (line: string) => void;
}): Promise<CostResult> {
  const failoverBoundMs = o.leaseMs + o.skewMs;
  const result: CostResult = {
    failoverBoundMs,
    leaseMs: {},
    requestsPerLeaderHour: {},
    costPerLeaderHourUsd: {},
    requestsPerLeaderHour50: {},
    costPerLeaderHourUsd50: {},
    followersRatio: {},
  };
  for (const contender of o.contenders ?? allContenders) {
    const leaseMs = contender.name === 'leasehold' ? o.leaseMs : Math.round(failoverBoundMs / 2);
    const tableName = `bench-cost-${contender.name.replace(/[^a-z0-9]/gi, '')}-${Date.now()}`;
    await contender.createTable(o.endpoint, tableName);
    const run = (followers: number) => measure(contender, { endpoint: o.endpoint, tableName, leaseMs, skewMs: o.skewMs, followers, measureMs: o.periods * o.leaseMs });
    const four = await run(4);
    const fifty = await run(50);
    const name = contender.name;
    result.leaseMs[name] = leaseMs;
    result.requestsPerLeaderHour[name] = four.requests;
    result.costPerLeaderHourUsd[name] = four.usd;
    result.requestsPerLeaderHour50[name] = fifty.requests;
    result.costPerLeaderHourUsd50[name] = fifty.usd;
    result.followersRatio[name] = fifty.usd / four.usd;
    o.log?.(
      `cost ${name} (lease ${leaseMs} ms): 4 followers ${Math.round(four.requests)} requests, $${four.usd.toFixed(5)} per leader-hour; ` +
        `50 followers ${Math.round(fifty.requests)}, $${fifty.usd.toFixed(5)}`,
    );
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { periods: { type: 'string', default: '10' }, endpoint: { type: 'string' } } });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    await benchCost({ endpoint: values.endpoint ?? server!.endpoint, leaseMs: 2_000, skewMs: 200, periods: Number(values.periods), log: console.log });
  } finally {
    await server?.stop();
  }
  // Stopped peer participants leave calls that never settle: nothing else keeps the process up.
  process.exit(0);
}
