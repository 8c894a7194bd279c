/**
 * One cluster worker (demo and chaos run): campaigns for the lease with `LeaderElector`; while
 * leading, appends entries to the shared ledger with fenced writes. It records its own history
 * (and reports each event to the controller over IPC), and meets whatever faults the controller
 * switches on: network faults on its DynamoDB client, and a wall clock set off the host's.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  fencedWrite,
  FencedWriteRejectedError,
  LeaderElector,
  LeaseClient,
  LeaseLostError,
  LeaseStoreError,
  systemClock,
  type Clock,
  type Lease,
} from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import { HEALTHY_NETWORK, injectNetworkFaults, type NetworkFaultSettings } from '../../lib/testing/faults.js';
import { seededRandom } from '../local/random.js';
import { startFaultProxy } from '../local/tcp-proxy.js';
import { historyNow, historyWriter, type HistoryEvent, type WriteOutcome } from '../proof/history.js';
import { appendIfNotStale, ledgerAppend } from './ledger.js';
import type { ControllerMessage, WorkerConfig, WorkerMessage } from './messages.js';

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const send = (message: WorkerMessage) => process.send?.(message);
const random = seededRandom(config.seed);
let wallOffsetMs = config.wallOffsetMs;
let network: NetworkFaultSettings = HEALTHY_NETWORK;
const clock: Clock = { ...systemClock, wallNow: () => Date.now() + wallOffsetMs, random };

const writeHistory = historyWriter(config.historyFile);
const report = (event: HistoryEvent) => {
  const stamped = { ...event, wall: clock.wallNow() };
  writeHistory(stamped);
  send({ type: 'event', event: stamped });
};

// Every request crosses this worker's own TCP proxy, so the controller can cut it off in silence.
const proxy = await startFaultProxy(config.endpoint);
const client = new DynamoDBClient(localClientConfig(proxy.endpoint));
const faultsFired = injectNetworkFaults(client, () => network, random);
const leases = new LeaseClient({ tableName: config.tableName, client, holderId: config.worker, skewMs: config.skewMs, clock });
const elector = new LeaderElector({ leases, name: config.leaseName, leaseMs: config.leaseMs });
const ledger = { tableName: config.tableName, ledgerName: config.ledgerName };

let writes = 0;
/**
 * One write to the ledger, recorded with what became of it. A write that never left (the lease
 * was already lost, or the request was throttled) is not a write and is not recorded.
 */
async function write(lease: Lease, fenced: boolean): Promise<void> {
  const id = `${config.worker}#${++writes}`;
  const token = lease.fencingToken;
  const sentAt = historyNow();
  let outcome: WriteOutcome;
  try {
    if (fenced && config.transactions) {
      await fencedWrite(lease, [{ Update: ledgerAppend(ledger, token, id) }]);
      outcome = 'accepted';
    } else {
      // Bounded like the library's own requests: a pooled connection a partition left dead would
      // otherwise hold this leader's callback, and so its elector, for minutes.
      outcome = (await appendIfNotStale(client, ledger, token, id, AbortSignal.timeout(config.leaseMs))) ? 'accepted' : 'refused';
    }
  } catch (error) {
    if (error instanceof FencedWriteRejectedError) outcome = 'refused';
    else if (error instanceof LeaseLostError) return;
    else if (error instanceof LeaseStoreError && error.outcomeUnknown) outcome = 'unknown';
    else return;
  }
  report({ t: historyNow(), sentAt, worker: config.worker, kind: 'write', id, token, outcome });
}

let current: Lease | undefined;
setInterval(() => {
  const leading = current?.isHeld === true;
  send({ type: 'status', leading, token: current?.fencingToken, remainingMs: leading ? current!.remainingMs() : 0, faults: faultsFired });
}, 200).unref();

process.on('message', (message: ControllerMessage) => {
  // A release that finally fails leaves the lease to lapse: the worker must live on regardless.
  if (message.type === 'resign') elector.resign().catch(() => {});
  if (message.type === 'stop') void elector.close().catch(() => {}).then(() => process.exit(0));
  if (message.type === 'network') network = message.settings;
  if (message.type === 'clock') wallOffsetMs = message.wallOffsetMs;
  if (message.type === 'partition') {
    if (message.cut) proxy.blackhole();
    else proxy.heal();
  }
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
    await write(lease, true);
    // Under transaction conflicts the leader writes back to back, so its renewals meet its writes.
    await Promise.race([delay(network.conflictRate > 0 ? 5 : 300), ended]);
  }
  // A leader that lost its lease involuntarily tries once more, unfenced by the lease, as a
  // process that missed the news would: the ledger must refuse it if a newer leader wrote.
  const reason = (signal.reason as LeaseLostError | undefined)?.reason;
  if (reason === 'expired' || reason === 'taken') await write(lease, false);
});
