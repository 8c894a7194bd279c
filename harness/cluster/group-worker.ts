/**
 * One cluster worker in group mode (`--group N` of the demo and the chaos run): a `LeaseGroup`
 * member over N partitions. For each partition it owns it appends fenced entries to that
 * partition's own ledger item, and records per partition what it believes (acquired with its
 * token, lost, and when its belief ended) and every write's outcome. It meets the same faults as
 * the single-lease worker (`worker-runtime.ts`); `resign` makes it leave the group gracefully
 * (every partition released) and join again at once.
 */
import { performance } from 'node:perf_hooks';
import { LeaseClient, LeaseGroup, LeaseLostError, type OwnedLease, type Partition } from '../../lib/index.js';
import { historyNow } from '../proof/history.js';
import { partitionLedgerName } from './messages.js';
import { startWorkerRuntime } from './worker-runtime.js';

let stopping = false;
let group: LeaseGroup | undefined;
const runtime = await startWorkerRuntime((message) => {
  if (message.type === 'stop') stopping = true;
  // A release that finally fails leaves the partition to lapse with the session: live on regardless.
  void group?.close({ drainMs: 1_000 }).catch(() => {});
});
const { config, clock, client, report } = runtime;
const settings = config.group!;
const leases = new LeaseClient({ tableName: config.tableName, client, holderId: config.worker, skewMs: config.skewMs, clock });
const { worker } = config;

function member(): LeaseGroup {
  const instance = new LeaseGroup({ leases, group: settings.name, names: { count: settings.partitions }, leaseMs: config.leaseMs, id: worker });
  // Each partition's lease, whose deadline (its session's) is when belief in it ended at the latest.
  const held = new Map<string, OwnedLease>();
  instance.on('acquired', (partition) => {
    held.set(partition.name, partition.lease);
    report({ t: historyNow(), worker, kind: 'elected', token: partition.fencingToken, partition: partition.name });
  });
  instance.on('lost', ({ name, fencingToken, reason }) => {
    const lease = held.get(name);
    held.delete(name);
    // Belief ended at the session's deadline at the latest, even when this process was frozen
    // past it and hears of the loss only afterwards: that deadline is what the history records.
    const believedUntil = lease ? performance.timeOrigin + lease.validUntil : Infinity;
    report({ t: Math.min(historyNow(), believedUntil), worker, kind: 'deposed', token: fencingToken, reason, partition: name });
  });
  instance.on('error', (error) => {
    if (process.env.LEASEHOLD_DEBUG) console.error(`${worker}: ${(error as Error).message}`);
  });
  return instance;
}

async function work(partition: Partition): Promise<void> {
  const ledger = { tableName: config.tableName, ledgerName: partitionLedgerName(config.ledgerName, partition.name) };
  const ended = new Promise<void>((resolve) => partition.signal.addEventListener('abort', () => resolve(), { once: true }));
  // Partitions start out of step, so their writes spread over time.
  await runtime.pause(clock.random() * settings.writeEveryMs, ended);
  while (!partition.signal.aborted) {
    await runtime.write(partition.lease, ledger, true, partition.name);
    await runtime.pause(settings.writeEveryMs * (0.75 + clock.random() / 2), ended, 50);
  }
  // Lost involuntarily (not handed over or released): one more write, unfenced by the lease, as a
  // process that missed the news would send. The ledger must refuse it if a newer owner wrote.
  const reason = (partition.lease.signal.reason as LeaseLostError | undefined)?.reason;
  if (reason === 'expired' || reason === 'taken') await runtime.write(partition.lease, ledger, false, partition.name);
}

setInterval(() => {
  const owned = group?.owned().length ?? 0;
  runtime.send({ type: 'status', leading: owned > 0, token: undefined, remainingMs: 0, faults: runtime.faultsFired, owned });
}, 200).unref();

while (!stopping) {
  group = member();
  await group.run(work).catch((error: unknown) => {
    console.error(`${worker}: ${(error as Error).message}`);
    return new Promise((resolve) => setTimeout(resolve, 1_000));
  });
}
await runtime.exit();
