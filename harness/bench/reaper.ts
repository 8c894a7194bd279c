/**
 * What one reaper run costs against a table of many leases with a few expired, beside a
 * Scan-based reaper (read the whole table, filter for expired held leases, then make the same
 * conditional writes). Measured at two table sizes with the same number expired, to show the
 * reaper's requests follow the expired leases, not the table.
 *
 *   npx tsx bench/reaper.ts [--leases 100000] [--expired 1000] [--endpoint URL]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { BatchWriteItemCommand, DynamoDBClient, type BatchWriteItemCommandOutput, ScanCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { createLeaseTable } from '../../lib/index.js';
import { reapExpiredLeases } from '../../lib/serverless/index.js';
import { LeaseAttribute as A, reapAfterOf, reapShardOf } from '../../lib/core/schema.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { countRequests, emptyCounts } from './measure.js';

export interface ReaperResult {
  leases: number;
  expired: number;
  /** Requests of one reaper run (index queries + conditional writes). */
  requests: number;
  ms: number;
  /** Requests a Scan-based reaper makes for the same work: scan pages + the same writes. */
  scanBaselineRequests: number;
  scanBaselineMs: number;
  /** Read units each way, as DynamoDB reports them (ReturnConsumedCapacity). */
  readUnits: number;
  scanBaselineReadUnits: number;
}

const SKEW_MS = 1_000;

/** Writes `count` held leases named from `first`, expired ones `expiresAt` an hour ago, live ones an hour ahead. */
async function putLeases(client: DynamoDBClient, tableName: string, first: number, count: number, expired: boolean): Promise<void> {
  const now = Date.now();
  const expiresAt = expired ? now - 3_600_000 : now + 3_600_000;
  const item = (i: number): WriteRequest => {
    const name = `lease-${String(i).padStart(7, '0')}`;
    return {
      PutRequest: {
        Item: {
          [A.name]: { S: name },
          [A.holderId]: { S: `holder-${i % 97}` },
          [A.fencingToken]: { N: String(1 + (i % 5)) },
          [A.leaseMs]: { N: '30000' },
          [A.expiresAt]: { N: String(expiresAt) },
          [A.revision]: { S: `rev-${i}` },
          [A.state]: { S: 'held' },
          [A.acquiredAt]: { N: String(now - 60_000) },
          [A.updatedAt]: { N: String(now - 10_000) },
          [A.reapShard]: { N: String(reapShardOf(name)) },
          [A.reapAfter]: { N: String(reapAfterOf(expiresAt)) },
        },
      },
    };
  };
  const batches: WriteRequest[][] = [];
  for (let i = first; i < first + count; i += 25) {
    batches.push(Array.from({ length: Math.min(25, first + count - i) }, (_, k) => item(i + k)));
  }
  const worker = async () => {
    for (let batch = batches.pop(); batch; batch = batches.pop()) {
      let pending: WriteRequest[] | undefined = batch;
      while (pending?.length) {
        const answer: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
        pending = answer.UnprocessedItems?.[tableName];
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** The Scan-based reaper's read side: every page of the table, filtered for held leases past expiry. */
async function scanForExpired(client: DynamoDBClient, tableName: string): Promise<{ pages: number; found: number; readUnits: number }> {
  let pages = 0;
  let found = 0;
  let readUnits = 0;
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#state = :held AND #expiresAt < :cutoff',
        ExpressionAttributeNames: { '#state': A.state, '#expiresAt': A.expiresAt },
        ExpressionAttributeValues: { ':held': { S: 'held' }, ':cutoff': { N: String(Date.now() - SKEW_MS) } },
        ReturnConsumedCapacity: 'TOTAL',
        ...(ExclusiveStartKey && { ExclusiveStartKey }),
      }),
    );
    pages++;
    found += page.Count ?? 0;
    readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (ExclusiveStartKey);
  return { pages, found, readUnits };
}

/** Read units of the reaper's queries, summed from what DynamoDB reports. */
function consumedReads(client: DynamoDBClient): { total: number } {
  const sum = { total: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      if (context.commandName === 'QueryCommand') input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: { CapacityUnits?: number } };
      if (context.commandName === 'QueryCommand') sum.total += output.ConsumedCapacity?.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'leaseholdBenchConsumedReads' },
  );
  return sum;
}

/**
 * Measures one reaper run and the Scan baseline on a table holding `sizes[i]` leases, of which
 * `expired` are past expiry, for each size in turn (growing the same table).
 */
export async function benchReaper(options: { endpoint: string; sizes: readonly number[]; expired: number; log?: (line: string) => void }): Promise<ReaperResult[]> {
  const log = options.log ?? (() => {});
  const client = new DynamoDBClient(localClientConfig(options.endpoint));
  const tableName = `bench-reaper-${Date.now()}`;
  await createLeaseTable(client, tableName);
  const results: ReaperResult[] = [];
  try {
    let live = 0;
    for (const size of options.sizes) {
      const started = performance.now();
      await putLeases(client, tableName, options.expired + live, size - options.expired - live, false);
      await putLeases(client, tableName, 0, options.expired, true);
      live = size - options.expired;
      log(`reaper: ${size.toLocaleString('en-US')} leases loaded in ${((performance.now() - started) / 1_000).toFixed(1)} s`);

      const scanStarted = performance.now();
      const scan = await scanForExpired(client, tableName);
      const scanBaselineMs = performance.now() - scanStarted;

      const counts = emptyCounts();
      const counted = countRequests(new DynamoDBClient(localClientConfig(options.endpoint)), counts);
      const reads = consumedReads(counted);
      const reapStarted = performance.now();
      const summary = await reapExpiredLeases({ client: counted, tableName, skewMs: SKEW_MS });
      const ms = performance.now() - reapStarted;
      counted.destroy();
      if (summary.reaped !== options.expired || scan.found !== options.expired) {
        throw new Error(`reaper bench: expected ${options.expired} expired, the reaper marked ${summary.reaped} and the scan found ${scan.found}`);
      }
      results.push({
        leases: size,
        expired: options.expired,
        requests: counts.requests,
        ms,
        scanBaselineRequests: scan.pages + scan.found,
        scanBaselineMs,
        readUnits: reads.total,
        scanBaselineReadUnits: scan.readUnits,
      });
    }
  } finally {
    client.destroy();
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { leases: { type: 'string', default: '100000' }, expired: { type: 'string', default: '1000' }, endpoint: { type: 'string' } } });
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    const leases = Number(values.leases);
    const results = await benchReaper({ endpoint: values.endpoint ?? server!.endpoint, sizes: [leases / 10, leases], expired: Number(values.expired), log: console.log });
    console.table(results);
  } finally {
    await server?.stop();
  }
}
