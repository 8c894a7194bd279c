/**
 * The DynamoDB servers the integration suite runs on, and what each lacks. A test that needs a
 * missing feature is skipped for that backend only: `it.skipIf(!backend.features.transactions)`.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';

export interface BackendFeatures {
  /** `TransactWriteItems` (fenced writes). dynalite has none. */
  readonly transactions: boolean;
  /** The failed item in a `ConditionalCheckFailedException`. dynalite silently ignores the flag. */
  readonly returnValuesOnConditionCheckFailure: boolean;
  /** DynamoDB Streams (a table's stream, read with the streams API). dynalite has none. */
  readonly streams: boolean;
  /** Consumed capacity per index (`ReturnConsumedCapacity: INDEXES`), as DynamoDB bills index writes. */
  readonly indexCapacity: boolean;
}

export interface Backend {
  readonly name: 'dynamodb-local' | 'dynalite' | 'endpoint';
  readonly endpoint: string;
  readonly features: BackendFeatures;
}

export const FEATURES: Record<Backend['name'], BackendFeatures> = {
  'dynamodb-local': { transactions: true, returnValuesOnConditionCheckFailure: true, streams: true, indexCapacity: true },
  dynalite: { transactions: false, returnValuesOnConditionCheckFailure: false, streams: false, indexCapacity: false },
  endpoint: { transactions: true, returnValuesOnConditionCheckFailure: true, streams: true, indexCapacity: true },
};

/** The backends the global setup started (or the real endpoint it was given). */
export function backends(): Backend[] {
  return inject('leaseholdBackends').map(({ name, endpoint }) => ({ name, endpoint, features: FEATURES[name] }));
}

/** The first backend with every feature (DynamoDB Local by default), for tests about one server. */
export function referenceBackend(): Backend {
  const all = backends();
  return all.find((b) => b.features.transactions && b.features.returnValuesOnConditionCheckFailure) ?? all[0]!;
}

/** A new client for a backend; a real endpoint uses the default credential chain and region. */
export function clientFor(backend: Backend, config: Omit<DynamoDBClientConfig, 'endpoint'> = {}): DynamoDBClient {
  return backend.name === 'endpoint'
    ? new DynamoDBClient({ endpoint: backend.endpoint, ...config })
    : new DynamoDBClient({ ...localClientConfig(backend.endpoint), ...config });
}

/** A table name no other test file uses. */
export function uniqueTableName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
