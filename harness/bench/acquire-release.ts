/**
 * Uncontended acquire + release latency against its floor: two raw conditional UpdateItem calls
 * on the same server, measured in the same run, interleaved so machine noise hits both alike. A
 * second baseline replays the very requests leasehold sends (captured from the SDK), with the
 * low-level client and none of leasehold's code: the gap between the two baselines is what the
 * lease item's size costs; the rest is leasehold's own work. This process's CPU time per pair is
 * measured too: on loopback the SDK's own work (serialising, signing, parsing) is a large share of
 * a round trip, and it grows with the size of what is sent and returned.
 *
 *   npx tsx bench/acquire-release.ts [--iterations 1000] [--endpoint URL]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaseClient } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { percentile } from './measure.js';

export interface AcquireReleaseResult {
  iterations: number;
  p50Ms: number;
  p99Ms: number;
  rawP50Ms: number;
  rawP99Ms: number;
  /** The same two requests leasehold sends, replayed with the low-level client. */
  replayP50Ms: number;
  /** p50Ms / rawP50Ms */
  ratio: number;
  /** replayP50Ms / rawP50Ms: what leasehold's requests cost with none of its code, the floor for `ratio`. */
  replayRatio: number;
  /** clientCpuUs.leasehold / clientCpuUs.raw */
  cpuRatio: number;
  /**
   * leasehold against the replay of its own requests (p50 latency, client CPU): the share of its
   * code and its request deadlines, apart from what the lease item's size costs the server.
   */
  overReplay: { latency: number; cpu: number };
  /** This process's CPU time (user + system) per acquire+release pair, mean, in µs. */
  clientCpuUs: { leasehold: number; raw: number; replay: number };
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

    const captured: UpdateItemCommandInput[] = [];
    const capturing = new DynamoDBClient(localClientConfig(options.endpoint));
    capturing.middlewareStack.add(
      (next) => async (args) => {
        captured.push(structuredClone(args.input as UpdateItemCommandInput));
        return next(args);
      },
      { step: 'build', name: 'benchCapture' },
    );
    const once = await new LeaseClient({ tableName, client: capturing, holderId: 'bench' }).tryAcquire('captured', { leaseMs: 30_000 });
    await once!.release();
    capturing.destroy();
    const [acquireInput, releaseInput] = captured as [UpdateItemCommandInput, UpdateItemCommandInput];
    // A new name each time: the captured release is conditional on the first fencing token.
    // Making an item costs the server a little less than updating one (about 0.5 %).
    const replay = async (i: number) => {
      const Key = { name: { S: `replay-${i}` } };
      await client.send(new UpdateItemCommand({ ...acquireInput, Key }));
      await client.send(new UpdateItemCommand({ ...releaseInput, Key }));
    };

    const samples = { raw: [] as number[], leasehold: [] as number[], replay: [] as number[] };
    const cpuUs = { raw: 0, leasehold: 0, replay: 0 };
    // Warm up connections, Node's JIT and the server's JVM: a fresh DynamoDB Local is slow at first.
    for (let i = 0; i < 500; i++) await Promise.all([raw(i), leasehold(i), replay(-1 - i)]);
    const kinds = [['raw', raw], ['leasehold', leasehold], ['replay', replay]] as const;
    for (let i = 0; i < options.iterations; i++) {
      const order = i % 2 ? kinds : [...kinds].reverse();
      for (const [kind, run] of order) {
        const cpuBefore = process.cpuUsage();
        const start = performance.now();
        await run(i);
        samples[kind].push(performance.now() - start);
        const cpu = process.cpuUsage(cpuBefore);
        cpuUs[kind] += cpu.user + cpu.system;
      }
    }
    const p50Ms = percentile(samples.leasehold, 50);
    const rawP50Ms = percentile(samples.raw, 50);
    const replayP50Ms = percentile(samples.replay, 50);
    return {
      iterations: options.iterations,
      p50Ms,
      p99Ms: percentile(samples.leasehold, 99),
      rawP50Ms,
      rawP99Ms: percentile(samples.raw, 99),
      replayP50Ms,
      ratio: p50Ms / rawP50Ms,
      replayRatio: replayP50Ms / rawP50Ms,
      cpuRatio: cpuUs.leasehold / cpuUs.raw,
      overReplay: { latency: p50Ms / replayP50Ms, cpu: cpuUs.leasehold / cpuUs.replay },
      clientCpuUs: {
        leasehold: cpuUs.leasehold / options.iterations,
        raw: cpuUs.raw / options.iterations,
        replay: cpuUs.replay / options.iterations,
      },
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
