/**
 * Recovery after a silent network partition (issue 17). N electors in this process, each with its
 * own client behind its own TCP fault proxy (`dev/tcp-proxy.ts`), elect a leader; then one
 * follower, the leader, or every worker is blackholed (bytes dropped, no RST, no FIN) for one to
 * two leases and healed. From the heal it measures:
 *
 * - leader back: until an elector believes it leads AND the table, read consistently on a direct
 *   connection, names it (holder and fencing token). 0 when that leader was elected before the heal.
 * - all rejoined: until every elector that was cut off has had an answer from the table since the
 *   heal and names, in `leader()`, the holder and token the table names. The answer matters: a
 *   cut-off follower's view of an unchanged leader never went stale, it proves nothing.
 *
 * Safety throughout: never two electors leading at one instant (sampled every 20 ms, and checked
 * on every `elected`), and each election's fencing token above the previous one.
 *
 * A follower without a standby slot looks only every `idleWakeMs` (4 leases, ±25 %): cut off or
 * not, it may sleep through the whole cut and learn of the heal, and of a new leader, at its next
 * look. Its rejoin is bounded by that, not by lease + skew + 3 s.
 *
 *   npx tsx bench/partition-recovery.ts [--trials 10] [--workers 4] [--seed N] [--endpoint URL]
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLeaseTable, LeaderElector, LeaseClient, type LeaderInfo } from '../../lib/index.js';
import { localClientConfig, startEmbeddedDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { seededRandom } from '../local/random.js';
import { startFaultProxy } from '../local/tcp-proxy.js';
import { percentile } from './measure.js';

export const SCOPES = ['a follower', 'the leader', 'every worker'] as const;
export type PartitionScope = (typeof SCOPES)[number];
/** What a worker was when the cut began: the leader, a follower holding a standby slot, or one without. */
export type WorkerRole = 'leader' | 'standby' | 'idle';

export interface CutWorker {
  holderId: string;
  role: WorkerRole;
  /** From the heal to its first answer from the table (a refusal counts); undefined if none came. */
  answeredMs: number | undefined;
  /** From the heal until it has answered and names the table's leader; undefined: stuck. */
  rejoinedMs: number | undefined;
}

export interface PartitionTrial {
  scope: PartitionScope;
  trial: number;
  cutMs: number;
  leaderBackMs: number | undefined;
  /** From the cut to the first election after it; undefined if the leader from before kept leading. */
  newTermFromCutMs: number | undefined;
  /** The largest `rejoinedMs` of the cut workers; undefined if one is stuck. */
  allRejoinedMs: number | undefined;
  cut: CutWorker[];
  /** Cut workers not rejoined within the timeout, each with what it saw. */
  stuck: string[];
  violations: string[];
  /** Safety samples taken (a check that never ran proves nothing). */
  samples: number;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface ScopeSummary {
  trials: number;
  leaderBackMs: Spread;
  newTermFromCutMs: Spread | undefined;
  allRejoinedMs: Spread;
  leaderBackWithinBound: number;
  allRejoinedWithinBound: number;
  rejoinedMsByRole: Partial<Record<WorkerRole, Spread & { n: number }>>;
  stuckWorkers: number;
  safetyViolations: number;
}

export interface PartitionRecoveryResult {
  seed: number;
  workers: number;
  leaseMs: number;
  skewMs: number;
  /** lease + skew + 3 s: what issue 17 allows from the heal to a leader back. */
  boundMs: number;
  /** The elector defaults in force, which bound how soon a follower looks again. */
  standbys: number;
  followerWakeMs: number;
  idleWakeMs: number;
  timeoutMs: number;
  scopes: Record<PartitionScope, ScopeSummary>;
  trials: PartitionTrial[];
  /** Every trial: a leader back within the bound, no worker stuck, no safety violation. */
  met: boolean;
}

interface Options {
  endpoint: string;
  trials: number;
  leaseMs: number;
  skewMs: number;
  workers?: number;
  seed?: number;
  /** How long after the heal a cut worker may take to rejoin before it is reported stuck. @default 30000 */
  timeoutMs?: number;
  log?: (line: string) => void;
}

interface Context extends Required<Omit<Options, 'endpoint' | 'trials' | 'log'>> {
  endpoint: string;
  tableName: string;
  observer: LeaseClient;
  random: () => number;
}

const SAMPLE_EVERY_MS = 20;
const id = (i: number) => `worker-${i}`;
const same = (a: LeaderInfo | undefined, b: { holderId: string; fencingToken: number }) => a?.holderId === b.holderId && a.fencingToken === b.fencingToken;

/** Calls `answered` each time the server answers `client`; an error response (a refused write) counts. */
function onAnswer(client: DynamoDBClient, answered: () => void): DynamoDBClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const output = await next(args);
        answered();
        return output;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined) answered();
        throw error;
      }
    },
    { step: 'finalizeRequest', name: 'leaseholdBenchAnswered' },
  );
  return client;
}

/** The elector that leads and that a consistent read of the table names, or undefined. */
async function confirmedLeader(ctx: Context, name: string, electors: readonly LeaderElector[]) {
  const current = await ctx.observer.describe(name);
  if (current?.state !== 'held') return undefined;
  const index = electors.findIndex((e) => e.isLeader && same(e.leader(), current));
  return index < 0 ? undefined : { index, holderId: current.holderId, fencingToken: current.fencingToken, standbys: current.standbys };
}

async function runTrial(ctx: Context, scope: PartitionScope, trial: number): Promise<PartitionTrial> {
  const name = `recovery-${trial}-${scope.replace(/ /g, '-')}`;
  const proxies = await Promise.all(Array.from({ length: ctx.workers }, () => startFaultProxy(ctx.endpoint)));
  const answeredAt = proxies.map(() => -Infinity);
  const clients = proxies.map((proxy, i) => onAnswer(new DynamoDBClient(localClientConfig(proxy.endpoint)), () => (answeredAt[i] = performance.now())));
  const electors = clients.map(
    (client, i) => new LeaderElector({ leases: new LeaseClient({ tableName: ctx.tableName, client, holderId: id(i), skewMs: ctx.skewMs }), name, leaseMs: ctx.leaseMs }),
  );
  const violations: string[] = [];
  const elections: { at: number; fencingToken: number }[] = [];
  const leading = () => electors.flatMap((e, i) => (e.isLeader ? [id(i)] : []));
  electors.forEach((elector, i) =>
    elector.on('elected', ({ fencingToken }) => {
      const others = leading().filter((holder) => holder !== id(i));
      if (others.length > 0) violations.push(`${id(i)} elected (token ${fencingToken}) while ${others.join(', ')} led`);
      const last = elections.at(-1);
      if (last && fencingToken <= last.fencingToken) violations.push(`token ${fencingToken} elected after token ${last.fencingToken}`);
      elections.push({ at: performance.now(), fencingToken });
    }),
  );
  let samples = 0;
  let overlapping = false;
  const sampler = setInterval(() => {
    samples++;
    const now = leading();
    if (now.length > 1 && !overlapping) violations.push(`${now.join(' and ')} led at one instant`);
    overlapping = now.length > 1;
  }, SAMPLE_EVERY_MS);
  const runs = electors.map((e) => e.run(({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))));
  const renewEveryMs = electors[0]!.renewEveryMs;
  try {
    // 1. A leader, its standbys seated, a couple of renewals, then a random moment of its cycle.
    const settleBy = performance.now() + 10 * ctx.leaseMs;
    const seats = Math.min(electors[0]!.standbys, ctx.workers - 1);
    let before = await confirmedLeader(ctx, name, electors);
    while (!before || before.standbys.filter((s) => s.slot < seats && s.until > Date.now()).length < seats) {
      if (performance.now() > settleBy) throw new Error(`${scope} #${trial}: no settled leader within ${10 * ctx.leaseMs} ms`);
      await delay(SAMPLE_EVERY_MS);
      before = await confirmedLeader(ctx, name, electors);
    }
    await delay((2 + ctx.random()) * renewEveryMs);
    before = await confirmedLeader(ctx, name, electors);
    if (!before) throw new Error(`${scope} #${trial}: the leader was lost before the cut`);
    const seated = new Set(before.standbys.filter((s) => s.slot < seats && s.until > Date.now()).map((s) => s.holderId));
    const roleOf = (i: number): WorkerRole => (i === before!.index ? 'leader' : seated.has(id(i)) ? 'standby' : 'idle');
    const followers = electors.map((_, i) => i).filter((i) => i !== before!.index);
    const cut =
      scope === 'a follower' ? [followers[Math.floor(ctx.random() * followers.length)]!] : scope === 'the leader' ? [before.index] : electors.map((_, i) => i);
    const roles = cut.map(roleOf);

    // 2. The cut, for one to two leases, then the heal.
    const cutMs = Math.round(ctx.leaseMs * (1 + ctx.random()));
    const cutAt = performance.now();
    for (const i of cut) proxies[i]!.blackhole();
    await delay(cutMs);
    for (const i of cut) proxies[i]!.heal();
    const healedAt = performance.now();

    // 3. From the heal: a confirmed leader, and every cut worker answered and naming it.
    let leaderBackMs: number | undefined;
    const rejoinedMs = new Map<number, number>();
    let last: Awaited<ReturnType<typeof confirmedLeader>> = undefined;
    while (performance.now() - healedAt < ctx.timeoutMs && (leaderBackMs === undefined || rejoinedMs.size < cut.length)) {
      last = await confirmedLeader(ctx, name, electors);
      const now = performance.now();
      if (last) {
        const electedAt = elections.findLast((e) => e.fencingToken === last!.fencingToken)?.at ?? now;
        leaderBackMs ??= Math.max(0, electedAt - healedAt);
        for (const i of cut) if (!rejoinedMs.has(i) && answeredAt[i]! > healedAt && same(electors[i]!.leader(), last)) rejoinedMs.set(i, now - healedAt);
      }
      await delay(SAMPLE_EVERY_MS);
    }
    const stuck = cut
      .filter((i) => !rejoinedMs.has(i))
      .map((i) => {
        const view = electors[i]!.leader();
        const answered = answeredAt[i]! > healedAt ? `answered ${(answeredAt[i]! - healedAt).toFixed(0)} ms after the heal` : 'no answer since the heal';
        return `${id(i)} (${roleOf(i)}): sees ${view ? `${view.holderId}#${view.fencingToken}` : 'nobody'}, table ${last ? `${last.holderId}#${last.fencingToken}` : 'has no confirmed leader'}, ${answered}`;
      });
    const firstAfterCut = elections.find((e) => e.at > cutAt);
    return {
      scope,
      trial,
      cutMs,
      leaderBackMs,
      newTermFromCutMs: firstAfterCut && firstAfterCut.at - cutAt,
      allRejoinedMs: stuck.length > 0 ? undefined : Math.max(...rejoinedMs.values()),
      cut: cut.map((i, k) => ({
        holderId: id(i),
        role: roles[k]!,
        answeredMs: answeredAt[i]! > healedAt ? answeredAt[i]! - healedAt : undefined,
        rejoinedMs: rejoinedMs.get(i),
      })),
      stuck,
      violations,
      samples,
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(electors.map((e) => e.close({ drainMs: 0 })));
    await Promise.all(runs);
    for (const client of clients) client.destroy();
    await Promise.all(proxies.map((proxy) => proxy.close()));
  }
}

function spread(values: readonly number[]): Spread {
  return { min: values.length ? Math.min(...values) : Number.NaN, median: percentile(values, 50), max: values.length ? Math.max(...values) : Number.NaN };
}

function summarize(trials: readonly PartitionTrial[], boundMs: number): ScopeSummary {
  const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
  const cut = trials.flatMap((t) => t.cut);
  const roles = [...new Set(cut.map((w) => w.role))];
  const newTerms = defined(trials.map((t) => t.newTermFromCutMs));
  return {
    trials: trials.length,
    leaderBackMs: spread(defined(trials.map((t) => t.leaderBackMs))),
    newTermFromCutMs: newTerms.length > 0 ? spread(newTerms) : undefined,
    allRejoinedMs: spread(defined(trials.map((t) => t.allRejoinedMs))),
    leaderBackWithinBound: trials.filter((t) => t.leaderBackMs !== undefined && t.leaderBackMs <= boundMs).length,
    allRejoinedWithinBound: trials.filter((t) => t.allRejoinedMs !== undefined && t.allRejoinedMs <= boundMs).length,
    rejoinedMsByRole: Object.fromEntries(
      roles.map((role) => {
        const ms = defined(cut.filter((w) => w.role === role).map((w) => w.rejoinedMs));
        return [role, { n: cut.filter((w) => w.role === role).length, ...spread(ms) }];
      }),
    ),
    stuckWorkers: trials.reduce((sum, t) => sum + t.stuck.length, 0),
    safetyViolations: trials.reduce((sum, t) => sum + t.violations.length, 0),
  };
}

export async function benchPartitionRecovery(options: Options): Promise<PartitionRecoveryResult> {
  const { endpoint, trials, leaseMs, skewMs } = options;
  const workers = options.workers ?? 4;
  if (!Number.isInteger(workers) || workers < 2) throw new RangeError(`workers: a whole number of at least 2, got ${workers}`);
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`trials: a whole number of at least 1, got ${trials}`);
  const seed = options.seed ?? Math.floor(Math.random() * 1_000_000_000);
  const log = options.log ?? (() => {});
  const admin = new DynamoDBClient(localClientConfig(endpoint));
  const tableName = `bench-partition-${Date.now()}`;
  const observer = new LeaseClient({ tableName, client: admin, holderId: 'observer', skewMs });
  const ctx: Context = { endpoint, tableName, observer, workers, leaseMs, skewMs, seed, timeoutMs: options.timeoutMs ?? 30_000, random: seededRandom(seed) };
  // Never run: it only reads the elector's defaults for this lease.
  const defaults = new LeaderElector({ leases: observer, name: 'defaults', leaseMs });
  const boundMs = leaseMs + skewMs + 3_000;
  const ms = (n: number | undefined) => (n === undefined ? 'never' : `${n.toFixed(0)} ms`);
  const results: PartitionTrial[] = [];
  try {
    await createLeaseTable(admin, tableName);
    for (let trial = 1; trial <= trials; trial++) {
      for (const scope of SCOPES) {
        const t = await runTrial(ctx, scope, trial);
        results.push(t);
        const cut = t.cut.map((w) => `${w.holderId} ${w.role} ${ms(w.rejoinedMs)}`).join(', ');
        const newTerm = t.newTermFromCutMs === undefined ? '' : ` (new term ${ms(t.newTermFromCutMs)} after the cut)`;
        log(`${scope} #${trial}: cut ${t.cutMs} ms · leader back ${ms(t.leaderBackMs)}${newTerm} · rejoined: ${cut}`);
        for (const line of [...t.stuck.map((s) => `STUCK ${s}`), ...t.violations.map((v) => `SAFETY ${v}`)]) log(`  ${line}`);
      }
    }
  } finally {
    admin.destroy();
  }
  const scopes = Object.fromEntries(SCOPES.map((scope) => [scope, summarize(results.filter((t) => t.scope === scope), boundMs)])) as Record<PartitionScope, ScopeSummary>;
  return {
    seed,
    workers,
    leaseMs,
    skewMs,
    boundMs,
    standbys: defaults.standbys,
    followerWakeMs: defaults.followerWakeMs,
    idleWakeMs: defaults.idleWakeMs,
    timeoutMs: ctx.timeoutMs,
    scopes,
    trials: results,
    met: results.every((t) => t.leaderBackMs !== undefined && t.leaderBackMs <= boundMs && t.stuck.length === 0 && t.violations.length === 0),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { trials: { type: 'string', default: '10' }, workers: { type: 'string', default: '4' }, seed: { type: 'string' }, endpoint: { type: 'string' } },
  });
  const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000_000) : Number(values.seed);
  const server = values.endpoint ? undefined : await startEmbeddedDynamoDB();
  try {
    const [leaseMs, skewMs, workers] = [2_000, 200, Number(values.workers)];
    console.log(`partition recovery on ${server?.kind ?? values.endpoint} · seed ${seed} (replay with --seed ${seed}) · ${workers} workers · lease ${leaseMs} ms · skew ${skewMs} ms`);
    const r = await benchPartitionRecovery({ endpoint: values.endpoint ?? server!.endpoint, trials: Number(values.trials), leaseMs, skewMs, workers, seed, log: console.log });
    const fmt = (s: Spread | undefined) => (s === undefined || Number.isNaN(s.min) ? '-' : `${s.min.toFixed(0)} / ${s.median.toFixed(0)} / ${s.max.toFixed(0)}`);
    console.log(`\nfrom the heal, ms as min / median / max; bound lease + skew + 3 s = ${r.boundMs} ms`);
    console.table(
      Object.fromEntries(
        SCOPES.map((scope) => {
          const s = r.scopes[scope];
          return [
            scope,
            {
              trials: s.trials,
              'leader back': fmt(s.leaderBackMs),
              'new term from the cut': fmt(s.newTermFromCutMs),
              'all rejoined': fmt(s.allRejoinedMs),
              'leader back <= bound': `${s.leaderBackWithinBound}/${s.trials}`,
              'rejoined <= bound': `${s.allRejoinedWithinBound}/${s.trials}`,
              stuck: s.stuckWorkers,
              'safety violations': s.safetyViolations,
            },
          ];
        }),
      ),
    );
    console.log(`rejoined ms by role at the cut (standbys ${r.standbys}, followerWakeMs ${r.followerWakeMs}, idleWakeMs ${r.idleWakeMs})`);
    console.table(
      Object.fromEntries(
        SCOPES.flatMap((scope) =>
          Object.entries(r.scopes[scope].rejoinedMsByRole).map(([role, s]) => [`${scope}: ${role}`, { n: s.n, 'min / median / max': fmt(s) }]),
        ),
      ),
    );
    console.log(`issue 17 (a leader back within ${r.boundMs} ms of the heal, no worker stuck, no safety violation): ${r.met ? 'met' : 'NOT MET'}`);
  } finally {
    await server?.stop();
  }
}
