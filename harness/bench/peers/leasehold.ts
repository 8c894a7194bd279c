import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaderElector, LeaseClient } from '../../../lib/index.js';
import { localClientConfig } from '../../../lib/testing/local-dynamodb.js';
import { countRequests } from '../measure.js';
import type { Contender } from './contender.js';

/** leasehold's `LeaderElector` with its defaults (renew every lease/3, two standbys). */
export const leasehold: Contender = {
  name: 'leasehold',
  async createTable(endpoint, tableName) {
    const client = new DynamoDBClient(localClientConfig(endpoint));
    await createLeaseTable(client, tableName);
    client.destroy();
  },
  start(options, onLeading) {
    const client = new DynamoDBClient(localClientConfig(options.endpoint));
    if (options.counts) countRequests(client, options.counts);
    const leases = new LeaseClient({ tableName: options.tableName, client, holderId: options.id, skewMs: options.skewMs });
    const elector = new LeaderElector({ leases, name: options.lockName, leaseMs: options.leaseMs });
    const running = elector.run(async ({ signal }) => {
      onLeading();
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    });
    return {
      async stop() {
        await elector.close();
        await running;
        client.destroy();
      },
    };
  },
};
