/**
 * `npm start`: a live leader election on an embedded DynamoDB. Workers (separate processes) run
 * `LeaderElector` on one name; the leader appends fenced entries to a ledger; a fault is injected
 * in turn (SIGKILL, SIGSTOP past the lease then SIGCONT, a graceful resign) and the reaper runs
 * on a timer as the EventBridge schedule would. At the end the history is checked and a verdict
 * printed; the exit code is 0 only if every safety check held.
 *
 *   npm start -- [--workers 4] [--duration 45s] [--lease 2s] [--skew 200ms] [--fault-every 6s]
 *                [--endpoint URL] [--out DIR]
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
import { timelineSvg } from '../proof/timeline.js';
import { Cluster } from '../cluster/cluster.js';
import { readLedger } from '../cluster/ledger.js';
import { startReaperTimer } from '../cluster/reaper-timer.js';
import { printVerdict } from './verdict.js';
import { View } from './view.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    duration: { type: 'string', default: '45s' },
    lease: { type: 'string', default: '2s' },
    skew: { type: 'string', default: '200ms' },
    'fault-every': { type: 'string', default: '6s' },
    endpoint: { type: 'string' },
    out: { type: 'string' },
  },
});
const workerCount = Number(args.workers);
if (!Number.isInteger(workerCount) || workerCount < 2 || workerCount > 20) {
  console.error('demo: --workers must be a whole number from 2 to 20');
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
await createLeaseTable(client, tableName);

const started = historyNow();
const view = new View(
  process.stdout.isTTY === true,
  () =>
    `leasehold demo · ${cluster.workers.length} workers campaigning for "demo-leader" on ${server?.kind ?? endpoint} · ` +
    `lease ${leaseMs} ms, skew ${skewMs} ms · ${((historyNow() - started) / 1_000).toFixed(1)} s of ${durationMs / 1_000} s`,
  () => cluster.workers,
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
  onEvent: (event) => view.event(event),
});

const faults = ['kill', 'stop', 'resign'] as const;
const pending = new Set<NodeJS.Timeout>();
const later = (action: () => void, ms: number) => {
  const timer = setTimeout(() => {
    pending.delete(timer);
    action();
  }, ms);
  pending.add(timer);
};
let nextFault = 0;
function injectFault(): void {
  const leader = cluster.leader();
  if (!leader) return;
  const fault = faults[nextFault++ % faults.length]!;
  if (fault === 'kill') {
    cluster.kill(leader);
    later(() => cluster.startWorker(), 1_000); // a replacement joins, as an orchestrator would start one
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
const entries = await readLedger(client, ledger);
client.destroy();
await server?.stop();

const events = readHistory(cluster.historyFiles());
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
