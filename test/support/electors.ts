/**
 * Electors for the elector suites: short leases on one table, every client under real DynamoDB's
 * transaction-conflict rules, and every elector closed when the suite ends.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaderElector, LeaseClient } from '../../lib/index.js';
import { clientFor, type Backend } from './backends.js';
import { emulateTransactionConflicts } from './faults.js';

type ElectorOptions = Partial<ConstructorParameters<typeof LeaderElector>[0]>;

export function electorsOn(backend: Backend, tableName: string) {
  const running: LeaderElector[] = [];
  // Real DynamoDB's transaction-conflict rules hold between every elector's requests here.
  const conflicts = emulateTransactionConflicts();
  const electorFor = (name: string, holderId: string, options: ElectorOptions = {}, client: DynamoDBClient = clientFor(backend)) => {
    conflicts.attach(client);
    const elector = new LeaderElector({
      leases: new LeaseClient({ tableName, client, holderId, skewMs: 50 }),
      name,
      leaseMs: 600,
      followerWakeMs: 150,
      ...options,
    });
    running.push(elector);
    return elector;
  };
  const closeAll = () => Promise.all(running.map((elector) => elector.close()));
  return { electorFor, closeAll };
}
