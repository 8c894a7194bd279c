/**
 * What every benchmark measures with: percentiles, and a request counter that hooks into the
 * SDK's middleware stack and prices what it counted at DynamoDB on-demand rates.
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))]!;
}

/** DynamoDB requests as they are billed. Items here are small: a write is 1 unit, a read 0.5 or 1. */
export interface RequestCounts {
  /** Every request sent, retries included. */
  requests: number;
  /** Write request units: single writes (failed conditional writes are billed too), 2 per transactional item. */
  writeUnits: number;
  /** Read request units: 0.5 per eventually consistent read, 1 per consistent read, 2 per transactional read. */
  readUnits: number;
  /** Requests per operation name (`UpdateItem`, `GetItem`, ...). */
  byOperation: Record<string, number>;
}

export function emptyCounts(): RequestCounts {
  return { requests: 0, writeUnits: 0, readUnits: 0, byOperation: {} };
}

/** On-demand prices, us-east-1: $0.625 per million write units, $0.125 per million read units. */
export const PRICE_PER_WRITE_UNIT_USD = 0.625e-6;
export const PRICE_PER_READ_UNIT_USD = 0.125e-6;

export function costUsd(counts: RequestCounts): number {
  return counts.writeUnits * PRICE_PER_WRITE_UNIT_USD + counts.readUnits * PRICE_PER_READ_UNIT_USD;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const READS = new Set(['GetItem', 'Query', 'Scan']);

/**
 * Adds one request to `counts`, billed by operation and input. Query and Scan are counted as one
 * read of up to 4 KB: enough for the small lease items these benchmarks read.
 */
export function countRequest(counts: RequestCounts, operation: string, input: Record<string, unknown>): void {
  counts.requests++;
  counts.byOperation[operation] = (counts.byOperation[operation] ?? 0) + 1;
  const consistent = input.ConsistentRead === true;
  if (WRITES.has(operation)) counts.writeUnits += 1;
  else if (READS.has(operation)) counts.readUnits += consistent ? 1 : 0.5;
  else if (operation === 'TransactWriteItems') counts.writeUnits += 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 1);
  else if (operation === 'TransactGetItems') counts.readUnits += 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 1);
  else if (operation === 'BatchWriteItem') {
    const byTable = (input.RequestItems ?? {}) as Record<string, unknown[]>;
    counts.writeUnits += Object.values(byTable).reduce((sum, items) => sum + items.length, 0);
  }
}

/**
 * Counts every request `client` sends into `counts`. Added inside the SDK's retry loop, so each
 * retried attempt counts: it is billed like any other.
 */
export function countRequests(client: DynamoDBClient, counts: RequestCounts): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      countRequest(counts, String(context.commandName ?? 'unknown').replace(/Command$/, ''), args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'leaseholdBenchCounter' },
  );
  return client;
}
