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
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createLeaseTable } from '../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../dev/local-dynamodb.js';
import { parseDuration } from '../cli/duration.js';
import { historyNow, historyWriter, readHistory, type HistoryEvent } from '../proof/history.js';
import { check } from '../proof/check.js';
import { timelineSvg } from '../proof/timeline.js';
import { startReaperTimer } from './reaper-timer.js';
import { printVerdict } from './verdict.js';
import { View, type WorkerState } from './view.js';
import type { ControllerMessage, WorkerConfig, WorkerMessage } from './messages.js';

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
mkdirSync(out, { recursive: true });

const server = args.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = args.endpoint ?? server!.endpoint;
const client = new DynamoDBClient(localClientConfig(endpoint));
const tableName = 'leasehold-demo';
await createLeaseTable(client, tableName);

const historyFile = join(out, 'history.jsonl');
const write = historyWriter(historyFile);
const workers: WorkerState[] = [];
const children = new Map<string, ChildProcess>();
const started = historyNow();
const view = new View(
  process.stdout.isTTY === true,
  () =>
    `leasehold demo · ${workers.length} workers campaigning for "demo-leader" on ${server?.kind ?? endpoint} · ` +
    `lease ${leaseMs} ms, skew ${skewMs} ms · ${((historyNow() - started) / 1_000).toFixed(1)} s of ${durationMs / 1_000} s`,
  () => workers,
);
const record = (event: HistoryEvent) => {
  write(event);
  view.event(event);
};

function startWorker(): void {
  const name = `worker-${workers.length + 1}`;
  const config: WorkerConfig = {
    endpoint,
    tableName,
    leaseName: 'demo-leader',
    ledgerName: 'demo-ledger',
    worker: name,
    leaseMs,
    skewMs,
    transactions: server?.kind !== 'dynalite',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'worker.ts'), JSON.stringify(config)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const state: WorkerState = { name, pid: child.pid, condition: 'running', leading: false, token: undefined, remainingMs: 0, writes: 0 };
  workers.push(state);
  children.set(name, child);
  child.on('message', (message: WorkerMessage) => {
    if (message.type === 'event') {
      record(message.event);
      if (message.event.kind === 'write' && message.event.accepted) state.writes++;
    } else {
      Object.assign(state, { leading: message.leading, token: message.token, remainingMs: message.remainingMs });
    }
  });
  child.on('exit', () => {
    if (state.condition === 'running') state.condition = 'exited';
    state.leading = false;
  });
}

/** A worker can exit between a check and a send: a closed channel is not the controller's crash. */
function tell(child: ChildProcess, message: ControllerMessage): void {
  if (child.connected) child.send(message, () => {});
}

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
  const leader = workers.find((w) => w.leading && w.condition === 'running');
  if (!leader) return;
  const fault = faults[nextFault++ % faults.length]!;
  const child = children.get(leader.name)!;
  record({ t: historyNow(), worker: leader.name, kind: 'fault', fault });
  if (fault === 'kill') {
    child.kill('SIGKILL');
    leader.condition = 'killed';
    leader.leading = false;
    later(startWorker, 1_000); // a replacement joins, as an orchestrator would start one
  } else if (fault === 'stop') {
    child.kill('SIGSTOP');
    leader.condition = 'stopped';
    later(() => {
      record({ t: historyNow(), worker: leader.name, kind: 'fault', fault: 'cont' });
      leader.condition = 'running';
      child.kill('SIGCONT');
    }, leaseMs + skewMs + 1_500);
  } else {
    tell(child, { type: 'resign' });
  }
}

for (let i = 0; i < workerCount; i++) startWorker();
const reaper = startReaperTimer({ client, tableName, skewMs, record });
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
await Promise.all(
  [...children.entries()].map(async ([name, child]) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    tell(child, { type: 'stop' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const timeout = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timeout);
    workers.find((w) => w.name === name)!.leading = false;
  }),
);
const ledger = await client.send(
  new GetItemCommand({ TableName: tableName, Key: { name: { S: 'demo-ledger' } }, ConsistentRead: true }),
);
client.destroy();
await server?.stop();

const events = readHistory([historyFile]);
const verdict = check(events, runEnd);
// Every accepted write must be in the ledger; beyond those, only a write a killed leader had in
// flight (landed, answer never read) may be there.
const entries = Number(ledger.Item?.entries?.N ?? 0);
const kills = events.filter((e) => e.kind === 'fault' && e.fault === 'kill').length;
const ledgerKept = entries >= verdict.writesAccepted && entries <= verdict.writesAccepted + kills;
const svgFile = join(out, 'timeline.svg');
writeFileSync(
  svgFile,
  timelineSvg(events, verdict.tenures, `leasehold demo: ${verdict.ok && ledgerKept ? 'safe' : 'UNSAFE'}`, workers.map((w) => w.name)),
);
writeFileSync(join(out, 'verdict.json'), `${JSON.stringify({ ...verdict, tenures: undefined, ledgerEntries: entries, ledgerKept }, null, 2)}\n`);
printVerdict(verdict, events, { leaseMs, skewMs, timeline: relative(process.cwd(), svgFile), ledger: { entries, kept: ledgerKept } });
process.exitCode = verdict.ok && ledgerKept ? 0 : 1;
