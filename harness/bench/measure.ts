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

/**
 * DynamoDB requests as they are billed. Units are the server's own where it reports them: every
 * request {@link countRequests} hooks asks for its consumed capacity, index writes included (a
 * write that moves an item within a global secondary index is billed for the index too, and the
 * emulators report it as DynamoDB does). A request that reports nothing (a refused conditional
 * write, a throttled attempt, a client that cannot ask) is billed by a model of small items: a
 * write 1 unit, a read 0.5 or 1.
 */
export interface RequestCounts {
  /** Every request sent, retries included. */
  requests: number;
  /** Write request units, base table and indexes. */
  writeUnits: number;
  /** Read request units. */
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
const READ_OPERATIONS = new Set([...READS, 'BatchGetItem', 'TransactGetItems']);
const CAPACITY_OPERATIONS = new Set([...WRITES, ...READ_OPERATIONS, 'BatchWriteItem', 'TransactWriteItems']);

/**
 * Adds one request to `counts`, its units by the model of small items. Query and Scan are counted
 * as one read of up to 4 KB: enough for the small lease items these benchmarks read.
 */
export function countRequest(counts: RequestCounts, operation: string, input: Record<string, unknown>): void {
  counts.requests++;
  counts.byOperation[operation] = (counts.byOperation[operation] ?? 0) + 1;
  billByModel(counts, operation, input);
}

function billByModel(counts: RequestCounts, operation: string, input: Record<string, unknown>): void {
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

/** Adds what the server reported (`ConsumedCapacity`, one or per table); false if it reported nothing. */
function billByServer(counts: RequestCounts, operation: string, output: unknown): boolean {
  const consumed = (output as { ConsumedCapacity?: unknown } | undefined)?.ConsumedCapacity;
  const reports = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as { CapacityUnits?: number }[];
  if (reports.length === 0) return false;
  const units = reports.reduce((sum, report) => sum + (report.CapacityUnits ?? 0), 0);
  if (READ_OPERATIONS.has(operation)) counts.readUnits += units;
  else counts.writeUnits += units;
  return true;
}

/**
 * Counts every request `client` sends into `counts`, and asks DynamoDB for each one's consumed
 * capacity (`INDEXES`, unless the caller asked for some itself) to bill it. Counted inside the
 * SDK's retry loop, so each retried attempt counts: it is billed like any other.
 */
export function countRequests(client: DynamoDBClient, counts: RequestCounts): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!CAPACITY_OPERATIONS.has(operationOf(context))) return next(args);
      return next({ ...args, input: { ReturnConsumedCapacity: 'INDEXES', ...(args.input as Record<string, unknown>) } });
    },
    { step: 'initialize', name: 'leaseholdBenchAskCapacity' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = operationOf(context);
      const input = args.input as Record<string, unknown>;
      counts.requests++;
      counts.byOperation[operation] = (counts.byOperation[operation] ?? 0) + 1;
      try {
        const answer = await next(args);
        if (!billByServer(counts, operation, answer.output)) billByModel(counts, operation, input);
        return answer;
      } catch (error) {
        billByModel(counts, operation, input);
        throw error;
      }
    },
    { step: 'finalizeRequest', name: 'leaseholdBenchCounter' },
  );
  return client;
}

const operationOf = (context: { commandName?: string }): string => String(context.commandName ?? 'unknown').replace(/Command$/, '');
