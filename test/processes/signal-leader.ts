/**
 * A container's leader, as closeOnSignals expects it: it leads until SIGTERM, then drains,
 * releases its lease and exits. It prints one JSON line, `{ "leading": <fencing token> }`, once
 * elected. With `--serve`, it also answers health checks on a loopback HTTP server, which keeps
 * the process alive, and passes `exit: true`.
 *
 *   tsx signal-leader.ts <endpoint> <table> <name> <holderId> [--serve]
 */
import { createServer } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { closeOnSignals, healthListener, LeaderElector, LeaseClient } from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';

const [endpoint, tableName, name, holderId, mode] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const serve = mode === '--serve';
const leases = new LeaseClient({ tableName, client: new DynamoDBClient(localClientConfig(endpoint)), holderId });
const elector = new LeaderElector({ leases, name, leaseMs: 2_000, stallMs: 1_000 });
elector.on('elected', ({ fencingToken }) => console.log(JSON.stringify({ leading: fencingToken })));
closeOnSignals(elector, { drainMs: 1_000, exit: serve });
if (serve) createServer(healthListener(elector)).listen(0, '127.0.0.1');

await elector.run(async ({ signal, progress }) => {
  while (!signal.aborted) {
    progress();
    await delay(50);
  }
});
