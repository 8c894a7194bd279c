/**
 * `npm run chaos`: five workers run `LeaderElector` on one name against DynamoDB Local, the
 * leader appending fenced entries to a shared ledger, while this controller injects faults from a
 * printed seed (see `plan.ts`): SIGKILL, SIGSTOP past the lease, resign, throttling, answers lost
 * after the write landed, added latency, and wall clocks skewed within the allowance. The reaper
 * runs on a timer throughout. At the end every history and the ledger are checked; the exit code
 * is 0 only with zero violations.
 *
 * `--group N`: the workers are members of one `LeaseGroup` sharing N partitions, each owner
 * appending fenced entries to its partition's own ledger; the same faults hit the worker owning
 * the most partitions where the single run hits the leader (resign: it leaves the group,
 * releasing everything, and joins again), and every check runs per partition.
 *
 *   npm run chaos -- [--minutes 1] [--seed N] [--workers 5] [--lease 2s] [--skew 200ms]
 *                    [--fault-every 2s] [--faults kill,stop,...] [--group N] [--endpoint URL] [--out DIR]
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
import { checkGroup } from '../proof/check-group.js';
import { groupTimelineSvg, timelineSvg } from '../proof/timeline.js';
import { Cluster } from '../cluster/cluster.js';
import { readLedger } from '../cluster/ledger.js';
import { readPartitionLedgers } from '../cluster/group-ledgers.js';
import { startReaperTimer } from '../cluster/reaper-timer.js';
import { FAULT_KINDS, runChaos, wallOffset, type FaultKind } from './plan.js';
import { chaosSummary, groupChaosSummary } from './summary.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '5' },
    lease: { type: 'string', default: '2s' },
    skew: { type: 'string', default: '200ms' },
    'fault-every': { type: 'string', default: '2s' },
    faults: { type: 'string' },
    group: { type: 'string' },
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
const partitions = args.group === undefined ? undefined : Number(args.group);
if (partitions !== undefined && !(Number.isInteger(partitions) && partitions >= 1 && partitions <= 1_000)) fail('--group must be a whole number of partitions from 1 to 1000');
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
/**
 * Group mode: the longest a partition may go unowned after one failure. The same allowance, with
 * the group's busy round (a quarter of the lease) in place of the follower's wake-up.
 */
const unownedBoundMs = leaseMs + 2 * skewMs + leaseMs / 4 + 1_000;
/** Group mode: the longest a running member may own nothing (joined or back, it gets its share by handoffs within a few rounds). */
const idleBoundMs = 10 * leaseMs;
const out = args.out ?? join('.leasehold', `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`);

console.log(`chaos: seed ${seed} · ${workerCount} workers${partitions ? ` · group of ${partitions} partitions` : ''} · ${minutes} min · lease ${leaseMs} ms · skew ${skewMs} ms · replay with --seed ${seed}`);
const random = seededRandom(seed);
const server = args.endpoint ? undefined : await startEmbeddedDynamoDB();
const endpoint = args.endpoint ?? server!.endpoint;
const client = new DynamoDBClient(localClientConfig(endpoint));
const tableName = 'leasehold-chaos';
const ledger = { tableName, ledgerName: 'chaos-ledger' };
if (partitions !== undefined && server?.kind === 'dynalite') {
  await server.stop();
  fail('--group needs transactions, which dynalite lacks: install Java for DynamoDB Local, or pass --endpoint');
}
await createLeaseTable(client, tableName);
const group = partitions === undefined ? undefined : { name: 'chaos', partitions, writeEveryMs: 2_000 };

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
  ...(group && { group }),
});
for (let i = 0; i < workerCount; i++) cluster.startWorker(wallOffset(random, skewMs));
const reaper = startReaperTimer({ client, tableName, skewMs, record: (event) => cluster.record(event) });

const started = historyNow();
const endsAt = started + minutes * 60_000;
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));
const progress = setInterval(() => {
  const leader = cluster.leader();
  const state = group
    ? `owned ${cluster.running().map((w) => `${w.name} ${w.owned}`).join(', ')}`
    : `leader ${leader ? `${leader.name} (token ${leader.token})` : 'none'}`;
  console.log(`  ${((historyNow() - started) / 1_000).toFixed(0).padStart(4)} s  ${state}  ·  ${cluster.running().length} running`);
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
const entries = group ? [] : await readLedger(client, ledger);
const ledgers = group ? await readPartitionLedgers(client, ledger, group.partitions) : undefined;
client.destroy();
await server?.stop();

const events = readHistory(cluster.historyFiles());
if (group) {
  const verdict = checkGroup(events, runEnd, [...ledgers!.keys()], ledgers!, { leaderlessBoundMs: unownedBoundMs, idleBoundMs });
  const svgFile = join(out, 'timeline.svg');
  writeFileSync(svgFile, groupTimelineSvg(events, verdict.tenures, `leasehold chaos, ${group.partitions} partitions, seed ${seed}: ${verdict.ok ? 'no violations' : 'VIOLATIONS'}`));
  const summary = groupChaosSummary({
    seed,
    minutes: (runEnd - started) / 60_000,
    workers: cluster.workers.length,
    leaseMs,
    skewMs,
    unownedBoundMs,
    idleBoundMs,
    verdict,
    ledgerEntries: [...ledgers!.values()].reduce((sum, l) => sum + l.length, 0),
    injected,
    faultsFired,
  });
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary.json, null, 2)}\n`);
  console.log(summary.text);
  console.log(`  histories: ${relative(process.cwd(), join(out, 'history'))}/  ·  timeline: ${relative(process.cwd(), svgFile)}`);
  process.exit(verdict.ok ? 0 : 1);
}
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
