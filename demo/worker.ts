/**
 * One demo worker: campaigns for the lease with `LeaderElector`; while leading, appends numbered
 * entries to a ledger item with fenced writes. Reports every event to the controller over IPC.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { fencedWrite, FencedWriteRejectedError, LeaderElector, LeaseClient, LeaseLostError, type Lease } from '../lib/index.js';
import { localClientConfig } from '../dev/local-dynamodb.js';
import { historyNow, type HistoryEvent } from '../proof/history.js';
import type { ControllerMessage, WorkerConfig, WorkerMessage } from './messages.js';

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const send = (message: WorkerMessage) => process.send?.(message);
const report = (event: HistoryEvent) => send({ type: 'event', event });
const client = new DynamoDBClient(localClientConfig(config.endpoint));
const leases = new LeaseClient({ tableName: config.tableName, client, holderId: config.worker, skewMs: config.skewMs });
const elector = new LeaderElector({ leases, name: config.leaseName, leaseMs: config.leaseMs });

/**
 * A write that was already on its way when the process froze: it carries only the token, and the
 * ledger's own check (it keeps the highest token it has accepted) decides.
 */
async function inFlightLedgerWrite(token: number): Promise<boolean> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: config.tableName,
        Key: { name: { S: config.ledgerName } },
        UpdateExpression: 'SET highestToken = :token ADD entries :one',
        ConditionExpression: 'attribute_not_exists(highestToken) OR highestToken <= :token',
        ExpressionAttributeValues: { ':token': { N: String(token) }, ':one': { N: '1' } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Appends one entry to the ledger, only while this worker's lease still holds. */
async function appendToLedger(lease: Lease): Promise<boolean> {
  if (!config.transactions) return inFlightLedgerWrite(lease.fencingToken);
  const update = {
    TableName: config.tableName,
    Key: { name: config.ledgerName },
    UpdateExpression: 'SET highestToken = :token ADD entries :one',
    ExpressionAttributeValues: { ':token': lease.fencingToken, ':one': 1 },
  };
  try {
    await fencedWrite(lease, [{ Update: update }]);
    return true;
  } catch (error) {
    if (error instanceof FencedWriteRejectedError) return false;
    throw error;
  }
}

let current: Lease | undefined;
setInterval(() => {
  const leading = current?.isHeld === true;
  send({ type: 'status', leading, token: current?.fencingToken, remainingMs: leading ? current!.remainingMs() : 0 });
}, 200).unref();

process.on('message', (message: ControllerMessage) => {
  if (message.type === 'resign') void elector.resign();
  if (message.type === 'stop') void elector.close().then(() => process.exit(0));
});

await elector.run(async ({ lease, signal }) => {
  current = lease;
  report({ t: historyNow(), worker: config.worker, kind: 'elected', token: lease.fencingToken });
  const ended = new Promise<void>((resolve) => {
    signal.addEventListener('abort', () => {
      const reason = (signal.reason as { reason?: string } | undefined)?.reason ?? 'aborted';
      // Belief ended at the lease's own deadline, even when this process was frozen past it and
      // hears the abort only afterwards: that deadline is what the history records.
      const believedUntil = performance.timeOrigin + lease.validUntil;
      report({ t: Math.min(historyNow(), believedUntil), worker: config.worker, kind: 'deposed', token: lease.fencingToken, reason });
      resolve();
    });
  });
  while (!signal.aborted) {
    const sentAt = historyNow();
    const accepted = await appendToLedger(lease).catch((error: unknown) => {
      if (error instanceof LeaseLostError) return undefined; // noticed the loss before sending
      throw error;
    });
    if (accepted !== undefined) report({ t: historyNow(), sentAt, worker: config.worker, kind: 'write', token: lease.fencingToken, accepted });
    await Promise.race([delay(300), ended]);
  }
  const reason = (signal.reason as LeaseLostError | undefined)?.reason;
  if (reason === 'expired' || reason === 'taken') {
    const sentAt = historyNow();
    const accepted = await inFlightLedgerWrite(lease.fencingToken);
    report({ t: historyNow(), sentAt, worker: config.worker, kind: 'write', token: lease.fencingToken, accepted });
  }
});
