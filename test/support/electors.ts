/**
 * Electors for the elector suites: short leases on one table, every client under real DynamoDB's
 * transaction-conflict rules, each elector's requests through a real TCP hop (the fault proxy,
 * forwarding) unless a test brings its own client, and every elector closed when the suite ends.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { LeaderElector, LeaseClient } from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import { startFaultProxy, type FaultProxy } from '../../harness/local/tcp-proxy.js';
import { clientFor, type Backend } from './backends.js';
import { emulateTransactionConflicts } from './faults.js';

type ElectorOptions = Partial<ConstructorParameters<typeof LeaderElector>[0]>;

/** Call at describe level: registers the proxy's start and stop with the suite. */
export function electorsOn(backend: Backend, tableName: string) {
  const running: LeaderElector[] = [];
  // Real DynamoDB's transaction-conflict rules hold between every elector's requests here.
  const conflicts = emulateTransactionConflicts();
  let proxy: FaultProxy | undefined;
  beforeAll(async () => {
    if (backend.name !== 'endpoint') proxy = await startFaultProxy(backend.endpoint);
  });
  afterAll(() => proxy?.close());
  const throughProxy = () => (proxy ? new DynamoDBClient(localClientConfig(proxy.endpoint)) : clientFor(backend));
  const electorFor = (name: string, holderId: string, options: ElectorOptions = {}, client: DynamoDBClient = throughProxy()) => {
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
