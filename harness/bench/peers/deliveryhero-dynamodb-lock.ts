/**
 * `@deliveryhero/dynamodb-lock` 2.0.0 (AWS SDK v3), prolonging the lease every third of it, as
 * leasehold renews. Default `trustLocalTime: false`: a contender reads the lock (consistent),
 * waits one whole lease, then takes it only if its record version did not change; if it did, it
 * reads and waits again. So its failover bound is two leases, not lease + skew.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocument } from '@aws-sdk/lib-dynamodb';
import { dynamoDBLockClientFactory, type Lock } from '@deliveryhero/dynamodb-lock';
import { localClientConfig } from '../../../lib/testing/local-dynamodb.js';
import { countRequests } from '../measure.js';
import { createKeyedTable, type Contender } from './contender.js';

const KEYS = { partitionKey: 'lockId', sortKey: 'lockGroup' } as const;

export const deliveryheroDynamodbLock: Contender = {
  name: '@deliveryhero/dynamodb-lock',
  createTable: (endpoint, tableName) => createKeyedTable(endpoint, tableName, KEYS.partitionKey, KEYS.sortKey),
  start(options, onLeading) {
    const client = new DynamoDBClient(localClientConfig(options.endpoint));
    let stopped = false;
    // The library cannot cancel a campaign; once stopped, its requests never complete, so it
    // sends nothing more.
    client.middlewareStack.add((next) => (args) => (stopped ? new Promise<never>(() => {}) : next(args)), {
      step: 'initialize',
      name: 'benchStopGate',
    });
    if (options.counts) countRequests(client, options.counts);
    const locks = dynamoDBLockClientFactory(DynamoDBDocument.from(client), { tableName: options.tableName, ...KEYS });
    let held: Lock | undefined;
    const campaign = async (): Promise<void> => {
      while (!stopped) {
        try {
          held = await locks.lock('bench', options.lockName, {
            leaseDurationInMs: options.leaseMs,
            prolongEveryMs: Math.round(options.leaseMs / 3),
          });
          onLeading();
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    void campaign();
    return {
      async stop() {
        if (held) await locks.releaseLock(held).catch(() => {});
        stopped = true;
      },
    };
  },
};
