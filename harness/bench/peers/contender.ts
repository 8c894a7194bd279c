/**
 * One participant in an election, whatever the library: the failover and cost benchmarks run
 * leasehold and its npm peers through this same shape, configured alike.
 *
 * @module
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localClientConfig } from '../../../lib/testing/local-dynamodb.js';
import type { RequestCounts } from '../measure.js';

export interface ContenderOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly lockName: string;
  readonly id: string;
  /** The lease this library writes; it renews every third of it, as leasehold does by default. */
  readonly leaseMs: number;
  /** leasehold's clock-skew allowance; the peers have none (they wait out a whole lease instead). */
  readonly skewMs: number;
  /** Where to count every DynamoDB request this participant sends, if anywhere. */
  readonly counts?: RequestCounts;
}

export interface Participant {
  /** Stops for good: gives the lock back if held, and sends nothing more. */
  stop(): Promise<void>;
}

export interface Contender {
  readonly name: string;
  /** Creates the table this library needs. */
  createTable(endpoint: string, tableName: string): Promise<void>;
  /** Campaigns until it holds the lock (calling `onLeading` once), then keeps it until stopped. */
  start(options: ContenderOptions, onLeading: () => void): Participant;
}

/** Creates an on-demand table keyed by string attributes: `hash`, and `range` if given (a peer's own lock table). */
export async function createKeyedTable(endpoint: string, tableName: string, hash: string, range?: string): Promise<void> {
  const keys = [
    { AttributeName: hash, KeyType: 'HASH' as const },
    ...(range === undefined ? [] : [{ AttributeName: range, KeyType: 'RANGE' as const }]),
  ];
  const client = new DynamoDBClient(localClientConfig(endpoint));
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: keys,
        AttributeDefinitions: keys.map(({ AttributeName }) => ({ AttributeName, AttributeType: 'S' as const })),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } finally {
    client.destroy();
  }
}
