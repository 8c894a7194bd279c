/**
 * `npm run chaos`: five workers run `LeaderElector` on one name against DynamoDB Local, the
 * leader appending fenced entries to a shared ledger, while this controller injects faults from a
 * printed seed (see `plan.ts`): SIGKILL, SIGSTOP past the lease, resign, throttling, answers lost
 * after the write landed, added latency, and wall clocks skewed within the allowance. The reaper
 * runs on a timer throughout. At the end every history and the ledger are checked; the exit code
 * is 0 only with zero violations.
 *
 *   npm run chaos -- [--minutes 1] [--seed N] [--workers 5] [--lease 2s] [--skew 200ms]
 *                    [--fault-every 2s] [--endpoint URL] [--out DIR]
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { seededRandom } from '../local/random.js';
import type { NetworkFaultCounts } from '../../lib/testing/faults.js';
import { parseDuration } from '../../cli/duration.js';
import { historyNow, readHistory } from '../proof/history.js';
import { check, checkLedger } from '../proof/check.js';
import { timelineSvg } from '../proof/timeline.js';
import { Cluster } from '../cluster/cluster.js';
import { readLedger } from '../cluster/ledger.js';
import { startReaperTimer } from '../cluster/reaper-timer.js';
import { FAULT_KINDS, runChaos, wallOffset, type FaultKind } from './plan.js';
import { chaosSummary } from './summary.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '5' },
    lease: { type: 'string', default: '2s' },
    skew: { type: 'string', default: '200ms' },
    'fault-every': { type: 'string', default: '2s' },
    faults: { type: 'string' },
    endpoint: { type: 'string' },
    out: { type: 'string' },
  },
});
const fail = (message: string): never => {
  console.error(`chaos: ${message}`);
  process.exit(2);
};
const minutes = Number(args.minutes);
if (!(minutes > 0 && minutes <= 24 * 60)) fail('--minutes must be a number above 0 (fractions allowed)');
const workerCount = Number(args.workers);
if (!Number.isInteger(workerCount) || workerCount < 3 || workerCount > 20) fail('--workers must be a whole number from 3 to 20');
const seed = args.seed === undefined ? Math.floor(Math.random() * 1_000_000_000) : Number(args.seed);
if (!Number.isSafeInteger(seed) || seed < 0) fail('--seed must be a non-negative whole number');
const leaseMs = parseDuration('--lease', args.lease);
const skewMs = parseDuration('--skew', args.skew);
const faultEveryMs = parseDuration('--fault-every', args['fault-every']);
const kinds = args.faults?.split(',').map((kind) => kind.trim()) ?? [...FAULT_KINDS];
for (const kind of kinds) if (!(FAULT_KINDS as readonly string[]).includes(kind)) fail(`--faults: unknown fault "${kind}"; expected some of ${FAULT_KINDS.join(', ')}`);
const followerWakeMs = leaseMs / 2; // the elector's default
/**
 * The longest a name may go leaderless after one failure: the lease, twice the skew (the old
 * holder's clock may run fast by the allowance and the taker's slow), one follower wake-up, and
 * one second for injected latency, throttling backoff and a busy machine's scheduling.
 */
const leaderlessBoundMs = leaseMs + 2 * skewMs + followerWakeMs + 1_000;
const out = args.out ?? join('.leasehold', `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`);

console.log(`chaos: seed ${seed} · ${workerCount} workers · ${minutes} min · lease ${leaseMs} ms · skew ${skewMs} ms · replay with --seed ${seed}`);
const random = seededRandom(seed);
const server = args.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = args.endpoint ?? server!.endpoint;
const client = new DynamoDBClient(localClientConfig(endpoint));
const tableName = 'leasehold-chaos';
const ledger = { tableName, ledgerName: 'chaos-ledger' };
await createLeaseTable(client, tableName);

const cluster = new Cluster({
  endpoint,
  tableName,
  leaseName: 'chaos-leader',
  ledgerName: ledger.ledgerName,
  leaseMs,
  skewMs,
  transactions: server?.kind !== 'dynalite',
  out,
  seed,
});
for (let i = 0; i < workerCount; i++) cluster.startWorker(wallOffset(random, skewMs));
const reaper = startReaperTimer({ client, tableName, skewMs, record: (event) => cluster.record(event) });

const started = historyNow();
const endsAt = started + minutes * 60_000;
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));
const progress = setInterval(() => {
  const leader = cluster.leader();
  console.log(
    `  ${((historyNow() - started) / 1_000).toFixed(0).padStart(4)} s  leader ${leader ? `${leader.name} (token ${leader.token})` : 'none'}` +
      `  ·  ${cluster.running().length} running`,
  );
}, 10_000);
const injected = await runChaos(cluster, { leaseMs, skewMs, faultEveryMs, random, kinds: kinds as FaultKind[], done: () => interrupted || historyNow() >= endsAt });

const runEnd = historyNow();
clearInterval(progress);
await reaper.stop();
const faultKinds = ['throttled', 'dropped', 'delayed', 'hiddenRetries', 'conflicts'] as const satisfies readonly (keyof NetworkFaultCounts)[];
const faultsFired = Object.fromEntries(
  faultKinds.map((kind) => [kind, cluster.workers.reduce((sum, w) => sum + (w.faults[kind] ?? 0), 0)]),
) as Record<(typeof faultKinds)[number], number> satisfies NetworkFaultCounts;
await cluster.shutdown();
const entries = await readLedger(client, ledger);
client.destroy();
await server?.stop();

const events = readHistory(cluster.historyFiles());
const verdict = check(events, runEnd, { leaderlessBoundMs });
const ledgerViolations = checkLedger(entries, events);
const safe = verdict.ok && ledgerViolations.length === 0;
const svgFile = join(out, 'timeline.svg');
writeFileSync(svgFile, timelineSvg(events, verdict.tenures, `leasehold chaos, seed ${seed}: ${safe ? 'no violations' : 'VIOLATIONS'}`, cluster.workers.map((w) => w.name)));
const summary = chaosSummary({
  seed,
  minutes: (runEnd - started) / 60_000,
  workers: cluster.workers.length,
  leaseMs,
  skewMs,
  leaderlessBoundMs,
  verdict,
  ledger: { entries: entries.length, violations: ledgerViolations },
  injected,
  faultsFired,
});
writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary.json, null, 2)}\n`);
console.log(summary.text);
console.log(`  histories: ${relative(process.cwd(), join(out, 'history'))}/  ·  timeline: ${relative(process.cwd(), svgFile)}`);
process.exitCode = safe ? 0 : 1;
