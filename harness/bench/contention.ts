/**
 * Many contenders on one name at once: how long until the first leader, and what the herd costs
 * the table (requests per second, while it settles and once it has). Every contender is a
 * `LeaderElector` with its own client, all in this process.
 *
 *   npx tsx bench/contention.ts [--contenders 50] [--endpoint URL]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaderElector, LeaseClient } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { countRequests, emptyCounts } from './measure.js';

export interface ContentionResult {
  contenders: number;
  leaseMs: number;
  /** From every contender starting at once to the first one leading. */
  timeToFirstLeaderMs: number;
  /**
   * The floor: 50 fresh clients at once each making two raw requests in a row (a campaign is a
   * read then a conditional write), until the first finishes.
   */
  rawTwoRoundTripsMs: number;
  /** Requests per second over the first two leases (the start-up stampede included). */
  requestsPerSecondFirst: number;
  /** Requests per second over the two leases after that (settled: one leader, the rest following). */
  requestsPerSecondSettled: number;
  /**
   * Elections won over the run. One unless a leader lost its lease: on a starved machine (a
   * shared CI runner) a renewal can miss its deadline, which is the lease doing its job.
   */
  elections: number;
  /** How many contenders ever led. */
  leaders: number;
  /** Why each leadership that ended before the run did ended (`expired`, `superseded`, ...). */
  losses: string[];
  /** The most contenders that believed they led at one instant: must be one. */
  mostLeadersAtOnce: number;
  /** Fencing tokens of the elections, in order: must strictly grow. */
  tokens: number[];
}

async function rawTwoRoundTrips(endpoint: string, tableName: string, contenders: number): Promise<number> {
  const clients = Array.from({ length: contenders }, () => new DynamoDBClient(localClientConfig(endpoint)));
  const started = performance.now();
  const key = { name: { S: 'raw' } };
  const finished = await Promise.race(
    clients.map(async (client) => {
      await client.send(new GetItemCommand({ TableName: tableName, Key: key }));
      await client.send(new GetItemCommand({ TableName: tableName, Key: key }));
      return performance.now();
    }),
  );
  for (const client of clients) client.destroy();
  return finished - started;
}

export async function benchContention(options: { endpoint: string; contenders: number; leaseMs: number; skewMs: number }): Promise<ContentionResult> {
  const { endpoint, contenders, leaseMs, skewMs } = options;
  const admin = new DynamoDBClient(localClientConfig(endpoint));
  const tableName = `bench-contention-${Date.now()}`;
  await createLeaseTable(admin, tableName);
  admin.destroy();
  const rawTwoRoundTripsMs = await rawTwoRoundTrips(endpoint, tableName, contenders);
  const counts = emptyCounts();
  const clients = Array.from({ length: contenders }, () => countRequests(new DynamoDBClient(localClientConfig(endpoint)), counts));
  const electors = clients.map(
    (client, i) => new LeaderElector({ leases: new LeaseClient({ tableName, client, holderId: `contender-${i}`, skewMs }), name: 'contended', leaseMs }),
  );
  const leaders = new Set<string>();
  const tokens: number[] = [];
  const losses: string[] = [];
  let leading = 0;
  let mostLeadersAtOnce = 0;
  let closing = false;
  for (const elector of electors) {
    // `elected` and `deposed` fire on the holder's own clock, so counting them bounds belief.
    elector.on('elected', ({ fencingToken }) => {
      tokens.push(fencingToken);
      mostLeadersAtOnce = Math.max(mostLeadersAtOnce, ++leading);
    });
    elector.on('deposed', ({ reason }) => {
      leading--;
      if (!closing) losses.push(reason);
    });
  }
  let firstLeaderAt: number | undefined;
  const started = performance.now();
  const runs = electors.map((elector, i) =>
    elector.run(async ({ signal }) => {
      firstLeaderAt ??= performance.now();
      leaders.add(`contender-${i}`);
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    }),
  );
  await delay(2 * leaseMs);
  const first = counts.requests;
  await delay(2 * leaseMs);
  const settled = counts.requests - first;
  closing = true;
  await Promise.all(electors.map((e) => e.close()));
  await Promise.all(runs);
  for (const client of clients) client.destroy();
  if (firstLeaderAt === undefined) throw new Error('contention bench: nobody was elected');
  return {
    contenders,
    leaseMs,
    timeToFirstLeaderMs: firstLeaderAt - started,
    rawTwoRoundTripsMs,
    requestsPerSecondFirst: first / ((2 * leaseMs) / 1_000),
    requestsPerSecondSettled: settled / ((2 * leaseMs) / 1_000),
    elections: tokens.length,
    leaders: leaders.size,
    losses,
    mostLeadersAtOnce,
    tokens,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { contenders: { type: 'string', default: '50' }, endpoint: { type: 'string' } } });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    console.table(await benchContention({ endpoint: values.endpoint ?? server!.endpoint, contenders: Number(values.contenders), leaseMs: 2_000, skewMs: 200 }));
  } finally {
    await server?.stop();
  }
}
