/**
 * Uncontended acquire + release latency against its floor: two raw conditional UpdateItem calls
 * on the same server, measured in the same run, interleaved so machine noise hits both alike.
 *
 *   npx tsx bench/acquire-release.ts [--iterations 1000] [--endpoint URL]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaseClient } from '../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../dev/local-dynamodb.js';
import { percentile } from './measure.js';

export interface AcquireReleaseResult {
  iterations: number;
  p50Ms: number;
  p99Ms: number;
  rawP50Ms: number;
  rawP99Ms: number;
  /** p50Ms / rawP50Ms */
  ratio: number;
}

export async function benchAcquireRelease(options: { endpoint: string; iterations: number }): Promise<AcquireReleaseResult> {
  const client = new DynamoDBClient(localClientConfig(options.endpoint));
  const tableName = `bench-acquire-${Date.now()}`;
  try {
    await createLeaseTable(client, tableName);
    const leases = new LeaseClient({ tableName, client, holderId: 'bench' });

    const raw = async (i: number) => {
      const key = { name: { S: `raw-${i % 16}` } };
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'SET #h = :h, #t = if_not_exists(#t, :z) + :one',
          ConditionExpression: 'attribute_not_exists(#h) OR #h = :h',
          ExpressionAttributeNames: { '#h': 'holderId', '#t': 'fencingToken' },
          ExpressionAttributeValues: { ':h': { S: 'bench' }, ':z': { N: '0' }, ':one': { N: '1' } },
        }),
      );
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
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
    for (let i = 0; i < options.iterations; i++) {
      const order = i % 2 ? ([['raw', raw], ['leasehold', leasehold]] as const) : ([['leasehold', leasehold], ['raw', raw]] as const);
      for (const [kind, run] of order) {
        const start = performance.now();
        await run(i);
        samples[kind].push(performance.now() - start);
      }
    }
    const p50Ms = percentile(samples.leasehold, 50);
    const rawP50Ms = percentile(samples.raw, 50);
    return {
      iterations: options.iterations,
      p50Ms,
      p99Ms: percentile(samples.leasehold, 99),
      rawP50Ms,
      rawP99Ms: percentile(samples.raw, 99),
      ratio: p50Ms / rawP50Ms,
    };
  } finally {
    client.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { iterations: { type: 'string', default: '1000' }, endpoint: { type: 'string' } } });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    console.table(await benchAcquireRelease({ endpoint: values.endpoint ?? server!.endpoint, iterations: Number(values.iterations) }));
  } finally {
    await server?.stop();
  }
}
