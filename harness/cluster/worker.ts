/**
 * One cluster worker (demo and chaos run): campaigns for the lease with `LeaderElector`; while
 * leading, appends entries to the shared ledger with fenced writes. It records its own history
 * (and reports each event to the controller over IPC), and meets whatever faults the controller
 * switches on (see `worker-runtime.ts`): network faults on its DynamoDB client, and a wall clock
 * set off the host's.
 */
import { performance } from 'node:perf_hooks';
import { LeaderElector, LeaseClient, LeaseLostError, type Lease } from '../../lib/index.js';
import { historyNow } from '../proof/history.js';
import { startWorkerRuntime } from './worker-runtime.js';

const runtime = await startWorkerRuntime((message) => {
  // A release that finally fails leaves the lease to lapse: the worker must live on regardless.
  if (message.type === 'resign') elector.resign().catch(() => {});
  if (message.type === 'stop') void elector.close().catch(() => {}).then(() => runtime.exit());
});
const { config, clock, client, report } = runtime;
const leases = new LeaseClient({ tableName: config.tableName, client, holderId: config.worker, skewMs: config.skewMs, clock });
const elector = new LeaderElector({ leases, name: config.leaseName, leaseMs: config.leaseMs });
const ledger = { tableName: config.tableName, ledgerName: config.ledgerName };

let current: Lease | undefined;
setInterval(() => {
  const leading = current?.isHeld === true;
  runtime.send({ type: 'status', leading, token: current?.fencingToken, remainingMs: leading ? current!.remainingMs() : 0, faults: runtime.faultsFired });
}, 200).unref();

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
    await runtime.write(lease, ledger, true);
    // Under transaction conflicts the leader writes back to back, so its renewals meet its writes.
    await runtime.pause(300, ended);
  }
  // A leader that lost its lease involuntarily tries once more, unfenced by the lease, as a
  // process that missed the news would: the ledger must refuse it if a newer leader wrote.
  const reason = (signal.reason as LeaseLostError | undefined)?.reason;
  if (reason === 'expired' || reason === 'taken') await runtime.write(lease, ledger, false);
});
