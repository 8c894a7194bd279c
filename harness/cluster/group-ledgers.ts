/**
 * Group mode's ledgers: one item per partition (`<ledgerName>#<partition>`), read back at the end
 * of a run for the per-partition checks.
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LedgerEntry } from '../proof/check.js';
import { readLedger, type LedgerLocation } from './ledger.js';
import { partitionLedgerName } from './messages.js';

/** Every partition's ledger, by partition name (`"0"` to `"count-1"`), in landing order. */
export async function readPartitionLedgers(client: DynamoDBClient, location: LedgerLocation, count: number): Promise<Map<string, LedgerEntry[]>> {
  const ledgers = new Map<string, LedgerEntry[]>();
  for (let i = 0; i < count; i++) {
    const partition = String(i);
    ledgers.set(partition, await readLedger(client, { tableName: location.tableName, ledgerName: partitionLedgerName(location.ledgerName, partition) }));
  }
  return ledgers;
}
