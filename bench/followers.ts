/**
 * What an election costs the table: 1 leader + N followers (in one process, each with its own
 * client), requests counted per operation by an SDK middleware, over several lease periods, for
 * N = 4 and N = 50. Prices are DynamoDB on-demand: a write unit $0.625 per million; a read unit
 * $0.125 per million, an eventually consistent read counting half.
 *
 *   npx tsx bench/followers.ts [--lease 2s] [--periods 6] [--endpoint URL]
 */
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaderElector, LeaseClient } from '../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../dev/local-dynamodb.js';
import { parseDuration } from '../cli/duration.js';

const { values } = parseArgs({ options: { lease: { type: 'string', default: '2s' }, periods: { type: 'string', default: '6' }, endpoint: { type: 'string' } } });
const leaseMs = parseDuration('--lease', values.lease);
const periods = Number(values.periods);
const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = values.endpoint ?? server!.endpoint;

interface Counts { writes: number; consistentReads: number; eventualReads: number }

function countingClient(counts: Counts): DynamoDBClient {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ConsistentRead?: boolean };
      if (context.commandName === 'GetItemCommand') input.ConsistentRead ? counts.consistentReads++ : counts.eventualReads++;
      else counts.writes++;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return client;
}

async function measure(followers: number) {
  const tableName = `bench-followers-${followers}`;
  const admin = new DynamoDBClient(localClientConfig(endpoint));
  await createLeaseTable(admin, tableName);
  const leader = { writes: 0, consistentReads: 0, eventualReads: 0 };
  const rest = { writes: 0, consistentReads: 0, eventualReads: 0 };
  const electorFor = (id: string, counts: Counts) =>
    new LeaderElector({ leases: new LeaseClient({ tableName, client: countingClient(counts), holderId: id, skewMs: 200 }), name: 'bench', leaseMs });
  const first = electorFor('leader', leader);
  void first.run(async ({ signal }) => void (await new Promise((resolve) => signal.addEventListener('abort', resolve))));
  while (!first.isLeader) await delay(10);
  const others = Array.from({ length: followers }, (_, i) => electorFor(`follower-${i}`, rest));
  for (const elector of others) void elector.run(async () => {});
  // Let every follower make its first look, then count from a clean slate.
  await delay(leaseMs);
  Object.assign(leader, { writes: 0, consistentReads: 0, eventualReads: 0 });
  Object.assign(rest, { writes: 0, consistentReads: 0, eventualReads: 0 });
  await delay(leaseMs * periods);
  const per = (n: number) => n / periods;
  const cost = (c: Counts) => c.writes * 0.625e-6 + c.consistentReads * 0.125e-6 + c.eventualReads * 0.0625e-6;
  const periodsPerHour = 3_600_000 / leaseMs;
  const result = {
    followers,
    leaderRequestsPerPeriod: per(leader.writes + leader.consistentReads + leader.eventualReads),
    followerRequestsPerPeriod: per(rest.writes + rest.consistentReads + rest.eventualReads),
    followerWritesPerPeriod: per(rest.writes),
    costPerLeaderHourUsd: ((cost(leader) + cost(rest)) / periods) * periodsPerHour,
  };
  await Promise.all([first, ...others].map((e) => e.close()));
  admin.destroy();
  return result;
}

try {
  const results = [await measure(4), await measure(50)];
  console.table(results);
  const [four, fifty] = results as [Awaited<ReturnType<typeof measure>>, Awaited<ReturnType<typeof measure>>];
  const total = (r: typeof four) => r.leaderRequestsPerPeriod + r.followerRequestsPerPeriod;
  console.log(
    JSON.stringify({
      leaseMs,
      requestsPerPeriod: { followers4: total(four), followers50: total(fifty), ratio: total(fifty) / total(four) },
      costPerLeaderHourUsd: { followers4: four.costPerLeaderHourUsd, followers50: fifty.costPerLeaderHourUsd, ratio: fifty.costPerLeaderHourUsd / four.costPerLeaderHourUsd },
    }),
  );
} finally {
  await server?.stop();
}
