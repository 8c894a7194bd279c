/**
 * `npm start`: a live leader election on an embedded DynamoDB. Workers (separate processes) run
 * `LeaderElector` on one name; the leader appends fenced entries to a ledger; a fault is injected
 * in turn (SIGKILL, SIGSTOP past the lease then SIGCONT, a graceful resign) and the reaper runs
 * on a timer as the EventBridge schedule would. At the end the history is checked and a verdict
 * printed; the exit code is 0 only if every safety check held.
 *
 * `--group N`: the workers are instead members of one `LeaseGroup` sharing N partitions, each
 * owner appending fenced entries to its partition's own ledger. The faults in turn: SIGKILL of
 * the busiest worker, SIGSTOP of one past its lease then SIGCONT, a new worker joining. The
 * board shows each worker's share; the verdict runs every check per partition and measures how
 * fast the group rebalanced after each event. Needs transactions (DynamoDB Local, not dynalite).
 *
 *   npm start -- [--workers 4] [--duration 45s] [--lease 2s] [--skew 200ms] [--fault-every 6s]
 *                [--group N] [--endpoint URL] [--out DIR]
 */
import { join, relative } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { parseDuration } from '../../cli/duration.js';
import { historyNow, readHistory } from '../proof/history.js';
import { check, checkLedger } from '../proof/check.js';
import { checkGroup } from '../proof/check-group.js';
import { groupTimelineSvg, timelineSvg } from '../proof/timeline.js';
import { Cluster, type WorkerState } from '../cluster/cluster.js';
import { readLedger } from '../cluster/ledger.js';
import { readPartitionLedgers } from '../cluster/group-ledgers.js';
import { startReaperTimer } from '../cluster/reaper-timer.js';
import { printGroupVerdict, printVerdict } from './verdict.js';
import { View } from './view.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    duration: { type: 'string', default: '45s' },
    lease: { type: 'string', default: '2s' },
    skew: { type: 'string', default: '200ms' },
    'fault-every': { type: 'string', default: '6s' },
    group: { type: 'string' },
    endpoint: { type: 'string' },
    out: { type: 'string' },
  },
});
const workerCount = Number(args.workers);
if (!Number.isInteger(workerCount) || workerCount < 2 || workerCount > 20) {
  console.error('demo: --workers must be a whole number from 2 to 20');
  process.exit(2);
}
const partitions = args.group === undefined ? undefined : Number(args.group);
if (partitions !== undefined && !(Number.isInteger(partitions) && partitions >= 1 && partitions <= 1_000)) {
  console.error('demo: --group must be a whole number of partitions from 1 to 1000');
  process.exit(2);
}
const durationMs = parseDuration('--duration', args.duration);
const leaseMs = parseDuration('--lease', args.lease);
const skewMs = parseDuration('--skew', args.skew);
const faultEveryMs = parseDuration('--fault-every', args['fault-every']);
const out = args.out ?? join('.leasehold', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);

const server = args.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = args.endpoint ?? server!.endpoint;
const client = new DynamoDBClient(localClientConfig(endpoint));
const tableName = 'leasehold-demo';
const ledger = { tableName, ledgerName: 'demo-ledger' };
if (partitions !== undefined && server?.kind === 'dynalite') {
  console.error('demo: --group needs transactions, which dynalite lacks: install Java for DynamoDB Local, or pass --endpoint');
  await server.stop();
  process.exit(2);
}
await createLeaseTable(client, tableName);
const group = partitions === undefined ? undefined : { name: 'demo', partitions, writeEveryMs: 2_000 };

const started = historyNow();
const view = new View(
  process.stdout.isTTY === true,
  () =>
    `leasehold demo · ${cluster.workers.length} workers ${group ? `sharing ${group.partitions} partitions of group "demo"` : 'campaigning for "demo-leader"'} ` +
    `on ${server?.kind ?? endpoint} · lease ${leaseMs} ms, skew ${skewMs} ms · ${((historyNow() - started) / 1_000).toFixed(1)} s of ${durationMs / 1_000} s`,
  () => cluster.workers,
  partitions,
);
const cluster = new Cluster({
  endpoint,
  tableName,
  leaseName: 'demo-leader',
  ledgerName: ledger.ledgerName,
  leaseMs,
  skewMs,
  transactions: server?.kind !== 'dynalite',
  out,
  seed: Date.now() % 1_000_000,
  ...(group && { group }),
  onEvent: (event) => view.event(event),
});

const faults = group ? (['kill', 'stop', 'join'] as const) : (['kill', 'stop', 'resign'] as const);
const pending = new Set<NodeJS.Timeout>();
const later = (action: () => void, ms: number) => {
  const timer = setTimeout(() => {
    pending.delete(timer);
    action();
  }, ms);
  pending.add(timer);
};
let nextFault = 0;
/** The target of the next fault: the leader, or in group mode the running worker owning the most partitions. */
const target = (): WorkerState | undefined =>
  group ? cluster.running().reduce<WorkerState | undefined>((most, w) => (w.owned > (most?.owned ?? 0) ? w : most), undefined) : cluster.leader();
/** Group mode leaves the last stretch of the run without faults, so the final balance means something. */
const quietEndMs = group ? 3 * leaseMs + 2_000 : 0;
function injectFault(): void {
  const leader = target();
  if (!leader || historyNow() > started + durationMs - quietEndMs) return;
  const fault = faults[nextFault++ % faults.length]!;
  if (fault === 'join') {
    cluster.join();
  } else if (fault === 'kill') {
    cluster.kill(leader);
    // A replacement joins, as an orchestrator would start one; in group mode joins are a fault of their own.
    if (!group) later(() => cluster.startWorker(), 1_000);
  } else if (fault === 'stop') {
    cluster.freeze(leader);
    later(() => cluster.thaw(leader), leaseMs + skewMs + 1_500);
  } else {
    cluster.resign(leader);
  }
}

for (let i = 0; i < workerCount; i++) cluster.startWorker();
const reaper = startReaperTimer({ client, tableName, skewMs, record: (event) => cluster.record(event) });
const drawing = setInterval(() => view.draw(), 200);
const faulting = setInterval(injectFault, faultEveryMs);
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, durationMs);
  process.once('SIGINT', () => {
    clearTimeout(timer);
    resolve();
  });
});

const runEnd = historyNow();
clearInterval(faulting);
clearInterval(drawing);
for (const timer of pending) clearTimeout(timer);
await reaper.stop();
await cluster.shutdown();
const entries = group ? [] : await readLedger(client, ledger);
const ledgers = group ? await readPartitionLedgers(client, ledger, group.partitions) : undefined;
client.destroy();
await server?.stop();

const events = readHistory(cluster.historyFiles());
if (group) {
  const verdict = checkGroup(events, runEnd, [...ledgers!.keys()], ledgers!);
  const svgFile = join(out, 'timeline.svg');
  writeFileSync(svgFile, groupTimelineSvg(events, verdict.tenures, `leasehold demo, ${group.partitions} partitions: ${verdict.ok ? 'safe' : 'UNSAFE'}`));
  writeFileSync(join(out, 'verdict.json'), `${JSON.stringify({ ...verdict, tenures: undefined }, null, 2)}\n`);
  printGroupVerdict(verdict, events, { leaseMs, skewMs, timeline: relative(process.cwd(), svgFile) });
  process.exit(verdict.ok ? 0 : 1);
}
const verdict = check(events, runEnd);
const ledgerViolations = checkLedger(entries, events);
const safe = verdict.ok && ledgerViolations.length === 0;
const svgFile = join(out, 'timeline.svg');
writeFileSync(svgFile, timelineSvg(events, verdict.tenures, `leasehold demo: ${safe ? 'safe' : 'UNSAFE'}`, cluster.workers.map((w) => w.name)));
writeFileSync(
  join(out, 'verdict.json'),
  `${JSON.stringify({ ...verdict, tenures: undefined, ledgerEntries: entries.length, ledgerViolations }, null, 2)}\n`,
);
printVerdict(verdict, events, { leaseMs, skewMs, timeline: relative(process.cwd(), svgFile), ledger: { entries: entries.length, violations: ledgerViolations } });
process.exitCode = safe ? 0 : 1;
