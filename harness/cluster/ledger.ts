/**
 * The shared resource the leaders write to: one item that appends each write's token and id in
 * the order the writes land, so the checker can see from the resource itself whether a stale
 * write ever got in.
 *
 * @module
 */
import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LedgerEntry } from '../proof/check.js';
import { translateError } from '../../lib/core/store-errors.js';

/** Where the ledger lives: an item in the lease table, outside the lease names. */
export interface LedgerLocation {
  readonly tableName: string;
  readonly ledgerName: string;
}

const APPEND = 'SET highestToken = :token, entries = list_append(if_not_exists(entries, :none), :entry)';
const entryText = (token: number, id: string) => `${token}/${id}`;

/** The update that appends one entry, in lib-dynamodb form, for a fenced write (the lease check guards it). */
export function ledgerAppend(location: LedgerLocation, token: number, id: string) {
  return {
    TableName: location.tableName,
    Key: { name: location.ledgerName },
    UpdateExpression: APPEND,
    ExpressionAttributeValues: { ':token': token, ':none': [], ':entry': [entryText(token, id)] },
  };
}

/**
 * Appends one entry guarded only by the ledger's own memory of the highest token it took: how a
 * write that was already in flight when its sender lost the lease is judged, and how every write
 * is fenced on a backend without transactions. Returns whether the ledger took it; throws a
 * `LeaseStoreError` that says whether an unanswered write may have landed.
 */
export async function appendIfNotStale(
  client: DynamoDBClient,
  location: LedgerLocation,
  token: number,
  id: string,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: location.tableName,
        Key: { name: { S: location.ledgerName } },
        UpdateExpression: APPEND,
        ConditionExpression: 'attribute_not_exists(highestToken) OR highestToken <= :token',
        ExpressionAttributeValues: { ':token': { N: String(token) }, ':none': { L: [] }, ':entry': { L: [{ S: entryText(token, id) }] } },
      }),
      { abortSignal },
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    // As the library judges its own writes: one the SDK resent may have landed, whatever its last error.
    throw translateError(error, location.tableName, location.ledgerName);
  }
}

/** Every entry, in the order the writes landed. */
export async function readLedger(client: DynamoDBClient, location: LedgerLocation): Promise<LedgerEntry[]> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: location.tableName, Key: { name: { S: location.ledgerName } }, ConsistentRead: true }),
  );
  return (Item?.entries?.L ?? []).map((value) => {
    const text = value.S ?? '';
    const slash = text.indexOf('/');
    return { token: Number(text.slice(0, slash)), id: text.slice(slash + 1) };
  });
}
