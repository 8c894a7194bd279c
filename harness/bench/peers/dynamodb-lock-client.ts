/**
 * `dynamodb-lock-client` 0.7.3 (AWS SDK v2, callbacks), FailOpen with a heartbeat every third of
 * the lease, as leasehold renews. Default `trustLocalTime: false`: a contender reads the lock
 * (consistent), waits one whole lease, then takes it only if the heartbeat did not change it;
 * if it did, it reads and waits again. So its failover bound is two leases, not lease + skew.
 * (`trustLocalTime` would wait out only the rest of the lease, with no skew allowance at all.)
 */
import AWS from 'aws-sdk';
import { FailOpen, type DocumentClientLike, type Lock } from 'dynamodb-lock-client';
import { localClientConfig } from '../../../lib/testing/local-dynamodb.js';
import { countRequest } from '../measure.js';
import { createKeyedTable, type Contender } from './contender.js';

const PARTITION_KEY = 'id';

export const dynamodbLockClient: Contender = {
  name: 'dynamodb-lock-client',
  createTable: (endpoint, tableName) => createKeyedTable(endpoint, tableName, PARTITION_KEY),
  start(options, onLeading) {
    const { credentials, region } = localClientConfig(options.endpoint) as { credentials: { accessKeyId: string; secretAccessKey: string }; region: string };
    const service = new AWS.DynamoDB({ endpoint: options.endpoint, region, credentials: new AWS.Credentials(credentials) });
    const documents = new AWS.DynamoDB.DocumentClient({ service });
    let stopped = false;
    /**
     * Sends one call, counting each attempt ('send' fires for retries too: each is billed). Once
     * stopped, calls never complete: the library cannot cancel a campaign or a heartbeat timer, so
     * this is how it sends nothing more and its callbacks never run.
     */
    const call = <T>(operation: string, params: Record<string, unknown>, request: AWS.Request<T, AWS.AWSError>, callback: (error: Error | null | undefined, data?: Record<string, unknown>) => void) => {
      if (stopped) return;
      const counts = options.counts;
      if (counts) request.on('send', () => countRequest(counts, operation, params));
      request.send((error, data) => {
        if (!stopped) callback(error, data as Record<string, unknown> | undefined);
      });
    };
    const gated: DocumentClientLike = {
      get: (params, callback) => call('GetItem', params, documents.get(params as unknown as AWS.DynamoDB.DocumentClient.GetItemInput), callback),
      put: (params, callback) => call('PutItem', params, documents.put(params as unknown as AWS.DynamoDB.DocumentClient.PutItemInput), callback),
      delete: (params, callback) => call('DeleteItem', params, documents.delete(params as unknown as AWS.DynamoDB.DocumentClient.DeleteItemInput), callback),
    };
    const locks = new FailOpen({
      dynamodb: gated,
      lockTable: options.tableName,
      partitionKey: PARTITION_KEY,
      leaseDurationMs: options.leaseMs,
      heartbeatPeriodMs: Math.round(options.leaseMs / 3),
      owner: options.id,
      retryCount: Number.MAX_SAFE_INTEGER,
    });
    let held: Lock | undefined;
    const campaign = () =>
      locks.acquireLock(options.lockName, (error, lock) => {
        if (stopped) return;
        if (error || !lock) {
          setTimeout(campaign, 100);
          return;
        }
        held = lock;
        lock.on('error', () => {}); // a failed heartbeat; the lock is then simply lost
        onLeading();
      });
    campaign();
    return {
      async stop() {
        const lock = held;
        if (lock) await new Promise<void>((resolve) => lock.release(() => resolve()));
        stopped = true;
      },
    };
  },
};
