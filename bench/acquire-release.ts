/**
 * Uncontended acquire + release latency against its floor: two raw conditional UpdateItem calls
 * on the same server, measured in the same run, interleaved so machine noise hits both alike.
 *
 *   npx tsx bench/acquire-release.ts [--iterations 1000] [--endpoint URL]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaseClient } from '../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB, type LocalDynamoDB } from '../dev/local-dynamodb.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '1000' }, endpoint: { type: 'string' } } });
const iterations = Number(values.iterations);
const server: LocalDynamoDB | undefined = values.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = values.endpoint ?? server!.endpoint;
const client = new DynamoDBClient(localClientConfig(endpoint));

try {
  await createLeaseTable(client, 'bench');
  const leases = new LeaseClient({ tableName: 'bench', client, holderId: 'bench' });

  const raw = async (i: number) => {
    const key = { name: { S: `raw-${i % 16}` } };
    await client.send(
      new UpdateItemCommand({
        TableName: 'bench',
        Key: key,
        UpdateExpression: 'SET #h = :h, #t = if_not_exists(#t, :z) + :one',
        ConditionExpression: 'attribute_not_exists(#h) OR #h = :h',
        ExpressionAttributeNames: { '#h': 'holderId', '#t': 'fencingToken' },
        ExpressionAttributeValues: { ':h': { S: 'bench' }, ':z': { N: '0' }, ':one': { N: '1' } },
      }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: 'bench',
        Key: key,
        UpdateExpression: 'SET #s = :s',
        ConditionExpression: '#h = :h',
        ExpressionAttributeNames: { '#h': 'holderId', '#s': 'state' },
        ExpressionAttributeValues: { ':h': { S: 'bench' }, ':s': { S: 'released' } },
      }),
    );
  };
  const leasehold = async (i: number) => {
    const lease = await leases.tryAcquire(`lease-${i % 16}`, { leaseMs: 30_000 });
    if (!lease) throw new Error('uncontended acquire failed');
    await lease.release();
  };

  const samples = { raw: [] as number[], leasehold: [] as number[] };
  for (let i = 0; i < 50; i++) await Promise.all([raw(i), leasehold(i)]); // warm up connections and the JIT
  for (let i = 0; i < iterations; i++) {
    for (const [kind, run] of i % 2 ? ([['raw', raw], ['leasehold', leasehold]] as const) : ([['leasehold', leasehold], ['raw', raw]] as const)) {
      const start = performance.now();
      await run(i);
      samples[kind].push(performance.now() - start);
    }
  }
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
  const result = {
    backend: server?.kind ?? endpoint,
    iterations,
    p50Ms: pct(samples.leasehold, 50),
    p99Ms: pct(samples.leasehold, 99),
    rawP50Ms: pct(samples.raw, 50),
    rawP99Ms: pct(samples.raw, 99),
  };
  console.table({
    'leasehold tryAcquire + release': { p50Ms: result.p50Ms.toFixed(2), p99Ms: result.p99Ms.toFixed(2) },
    'two raw conditional UpdateItem': { p50Ms: result.rawP50Ms.toFixed(2), p99Ms: result.rawP99Ms.toFixed(2) },
  });
  console.log(JSON.stringify({ acquireRelease: { ...result, ratio: result.p50Ms / result.rawP50Ms } }));
} finally {
  client.destroy();
  await server?.stop();
}
