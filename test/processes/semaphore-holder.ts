/**
 * One contender process for the multi-process semaphore test. It loops: acquire a slot, work
 * under it (writes to a shared ledger item fenced per slot), then either release or stall (stop
 * renewing, keep believing until its signal says otherwise, then try one more write with its old
 * token). It logs each tenure as JSON lines: `{ holderId, slot, token, start, end }` in ms on the
 * machine's shared clock (`performance.timeOrigin + performance.now()`), plus every ledger write.
 *
 *   tsx semaphore-holder.ts <endpoint> <table> <name> <limit> <holderId> <logFile> <runMs>
 */
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LeaseClient, Semaphore } from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';

const [endpoint, tableName, name, limit, holderId, logFile, runMs] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const now = () => performance.timeOrigin + performance.now();
const log = (entry: object) => appendFileSync(logFile, `${JSON.stringify({ holderId, ...entry })}\n`);
const client = new DynamoDBClient(localClientConfig(endpoint));
const semaphore = new Semaphore({ leases: new LeaseClient({ tableName, client, holderId, skewMs: 100, driftRatio: 0.05 }), name, limit: Number(limit) });
const stopAt = now() + Number(runMs);

/**
 * The ledger keeps the highest token it has seen per slot and refuses lower ones for that slot:
 * several holders write to it at once, each fenced by its own slot's tokens.
 */
async function ledgerWrite(slot: string, token: number): Promise<boolean> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { name: { S: `${name}/ledger` } },
        UpdateExpression: 'SET #fence = :t ADD writes :one',
        ConditionExpression: 'attribute_not_exists(#fence) OR #fence <= :t',
        ExpressionAttributeNames: { '#fence': `fence:${slot}` },
        ExpressionAttributeValues: { ':t': { N: String(token) }, ':one': { N: '1' } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

while (now() < stopAt) {
  const lease = await semaphore.acquire({ leaseMs: 600, pollMs: 50, waitMs: 30_000 }).catch(() => undefined);
  if (!lease) continue;
  const start = now();
  let end: number | undefined;
  // Belief ends at the lease's monotonic deadline; a busy event loop may run this listener later.
  lease.signal.addEventListener('abort', () => (end ??= Math.min(now(), performance.timeOrigin + lease.validUntil)));
  const stall = Math.random() < 0.4;
  const slot = lease.name;
  for (let step = 0; step < 4 && lease.isHeld; step++) {
    const sent = now();
    log({ slot, write: lease.fencingToken, accepted: await ledgerWrite(slot, lease.fencingToken), sent, at: now() });
    await delay(100 + Math.random() * 100);
    if (!stall) await lease.renew().catch(() => {});
  }
  if (stall) {
    // Paused holder: no renewals. It may act only while isHeld says so.
    while (lease.isHeld) await delay(5);
    // Resumed after a longer pause, unaware, it tries one more write with its old token.
    await delay(1_500);
    const sent = now();
    log({ slot, staleWrite: lease.fencingToken, accepted: await ledgerWrite(slot, lease.fencingToken), sent, at: now() });
  } else {
    end = now();
    await lease.release();
  }
  log({ slot, token: lease.fencingToken, start, end, stalled: stall });
}
client.destroy();
