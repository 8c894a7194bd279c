/**
 * `npm start`: two holders on an embedded DynamoDB (no AWS account). One takes the lease, the
 * other waits; the first stops renewing, the second takes over with a larger fencing token, and
 * the first one's stale write is refused by the token check.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaseClient } from '../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../dev/local-dynamodb.js';

const server = await startEmbeddedDynamoDB();
const client = new DynamoDBClient(localClientConfig(server.endpoint));
const say = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`);

try {
  say(`embedded ${server.kind} at ${server.endpoint}`);
  await createLeaseTable(client, 'leasehold');
  const alice = new LeaseClient({ tableName: 'leasehold', client, holderId: 'alice', skewMs: 200 });
  const bob = new LeaseClient({ tableName: 'leasehold', client, holderId: 'bob', skewMs: 200 });

  let highestToken = 0;
  const write = (who: string, token: number) => {
    if (token < highestToken) return say(`ledger REFUSES ${who}'s write with stale token ${token} (seen ${highestToken})`);
    highestToken = token;
    say(`ledger accepts ${who}'s write with token ${token}`);
  };

  const first = await alice.acquire('nightly-report', { leaseMs: 1_500 });
  say(`alice leads with fencing token ${first.fencingToken}`);
  first.signal.addEventListener('abort', () => say(`alice's signal fired: ${(first.signal.reason as Error).message}`));
  write('alice', first.fencingToken);

  say('bob campaigns; alice renews once, then stops renewing (as if paused)');
  const bobWins = bob.acquire('nightly-report', { leaseMs: 1_500, waitMs: 10_000 });
  await first.renew();
  const second = await bobWins;
  say(`bob leads with fencing token ${second.fencingToken}`);
  write('bob', second.fencingToken);
  write('alice (resumed, unaware)', first.fencingToken);

  await second.release();
  say(`bob released; stored: ${JSON.stringify(await bob.describe('nightly-report'))}`);
} finally {
  client.destroy();
  await server.stop();
}
