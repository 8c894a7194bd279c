/**
 * Judges a group-mode run (a lease group's workers sharing many partitions) per partition, with
 * the single-lease checks of `check.ts` run on each partition's own history: never two workers
 * believing they own it at once, its tokens growing with every acquisition, no stale write
 * accepted, and its ledger matching the histories. Faults are every partition's context (a kill
 * ends the killed worker's belief in all of them). Beyond safety it measures the group: handoffs,
 * takeovers, the longest a partition went unowned, how long each of a faulted worker's
 * partitions took to be owned again, and how long the group took to balance after each event.
 *
 * @module
 */
import { check, checkLedger, type CheckOptions, type LedgerEntry, type Tenure, type Verdict } from './check.js';
import type { HistoryEvent } from './history.js';

/** A tenure of one partition. */
export interface PartitionTenure extends Tenure {
  readonly partition: string;
}

/** The faults after which the group must get each of its partitions owned again. */
const REMOVING = ['kill', 'stop', 'resign', 'partition'];
/** The events after which the group rebalances. */
const REBALANCING = ['kill', 'stop', 'cont', 'join', 'resign', 'heal'];

export interface GroupVerdict {
  readonly ok: boolean;
  /** Each prefixed with `partition <name>: `. */
  readonly violations: readonly string[];
  readonly partitions: number;
  readonly tenures: readonly PartitionTenure[];
  /** Acquisitions of a partition, by anyone. */
  readonly acquisitions: number;
  /** Partitions handed over gracefully to a member that asked for them. */
  readonly handoffs: number;
  /** Partitions taken after their owner was killed or lost its session (expired, taken). */
  readonly takeovers: number;
  /** Partitions released when their owner left (resign, stop of the run). */
  readonly releases: number;
  /** Every spell a partition went unowned between two owners, ms (a cut-off of everyone judged from the heal). */
  readonly unownedGapsMs: readonly number[];
  /** After each fault that removed a worker: the time until every partition it held was owned again, ms. */
  readonly recoveries: readonly { readonly fault: string; readonly worker: string; readonly partitions: number; readonly ms: number }[];
  /** After each event that changes the members: the time until every partition was owned and max − min ≤ 1, ms (undefined: not before the next event). */
  readonly rebalances: readonly { readonly fault: string; readonly worker: string; readonly ms: number | undefined }[];
  /** Each live worker's longest spell owning no partition while it ran (killed and frozen time aside), ms. */
  readonly idleMs: Readonly<Record<string, number>>;
  /** Partitions per live worker at the run's end. */
  readonly finalCounts: Readonly<Record<string, number>>;
  readonly writesAccepted: number;
  readonly writesRejected: number;
  readonly writesUnknown: number;
}

type Fault = Extract<HistoryEvent, { kind: 'fault' }>;

/**
 * Runs the single-lease checks on every partition: `ledgers` holds each partition's ledger (a
 * partition without one is judged as empty). `options.leaderlessBoundMs` bounds each partition's
 * unowned spells.
 */
export interface GroupCheckOptions extends CheckOptions {
  /**
   * The longest a running member may own no partition at all (a new member gets its share by
   * handoffs within a few rounds; one that never does is stuck). @default no limit
   */
  readonly idleBoundMs?: number;
}

export function checkGroup(
  events: readonly HistoryEvent[],
  runEnd: number,
  partitions: readonly string[],
  ledgers: ReadonlyMap<string, readonly LedgerEntry[]>,
  options: GroupCheckOptions = {},
): GroupVerdict {
  const faults = events.filter((e): e is Fault => e.kind === 'fault');
  const violations: string[] = [];
  const verdicts = new Map<string, Verdict>();
  const known = new Set(partitions);
  const trailingGapsMs: number[] = [];
  for (const event of events) {
    if (event.partition !== undefined && !known.has(event.partition)) violations.push(`partition ${event.partition}: not one of the group's partitions (${event.kind} by ${event.worker})`);
  }
  for (const partition of partitions) {
    const own = events.filter((e) => e.partition === partition || e.kind === 'fault');
    const verdict = check(own, runEnd, options);
    verdicts.set(partition, verdict);
    const ledgerViolations = checkLedger(ledgers.get(partition) ?? [], own);
    const trailing = unownedAtEnd(verdict.tenures, faults, runEnd, options);
    if (trailing.gapMs > 0) trailingGapsMs.push(trailing.gapMs);
    violations.push(...[...verdict.violations, ...ledgerViolations, ...trailing.violations].map((v) => `partition ${partition}: ${v}`));
  }
  const all = [...verdicts.values()];
  const tenures = [...verdicts].flatMap(([partition, v]) => v.tenures.map((t) => ({ ...t, partition })));
  const predecessors = [...verdicts.values()].flatMap((v) => v.tenures.slice(0, -1).map((t) => t.endedBy));
  const sum = (pick: (v: Verdict) => number) => all.reduce((total, v) => total + pick(v), 0);
  const liveAt = membership(events, faults);
  const idleMs = idleSpells(events[0]?.t ?? runEnd, runEnd, liveAt, tenures);
  if (options.idleBoundMs !== undefined) {
    for (const [worker, ms] of Object.entries(idleMs)) {
      if (ms > options.idleBoundMs) violations.push(`member ${worker}: owned no partition for ${ms.toFixed(0)} ms while running (bound ${options.idleBoundMs} ms)`);
    }
  }
  return {
    ok: violations.length === 0,
    violations,
    partitions: partitions.length,
    tenures,
    acquisitions: tenures.length,
    handoffs: predecessors.filter((reason) => reason === 'handedOff').length,
    takeovers: predecessors.filter((reason) => ['killed', 'expired', 'taken'].includes(reason)).length,
    releases: predecessors.filter((reason) => reason === 'released' || reason === 'resigned').length,
    unownedGapsMs: [...all.flatMap((v) => v.leaderlessGapsMs), ...trailingGapsMs],
    recoveries: recoveries(faults, tenures),
    rebalances: rebalances(liveAt, faults, tenures, partitions.length, runEnd),
    idleMs,
    finalCounts: countsAt(runEnd, tenures, liveAt(runEnd), runEnd),
    writesAccepted: sum((v) => v.writesAccepted),
    writesRejected: sum((v) => v.writesRejected),
    writesUnknown: sum((v) => v.writesUnknown),
  };
}

/**
 * A partition left unowned at the end of the run for longer than the bound: no tenure follows
 * its last one, so `check` sees no gap (a cut-off of everyone counts from the heal, as there).
 */
function unownedAtEnd(tenures: readonly Tenure[], faults: readonly Fault[], runEnd: number, options: CheckOptions): { gapMs: number; violations: string[] } {
  const last = tenures.at(-1);
  const bound = options.leaderlessBoundMs;
  if (!last || last.end >= runEnd) return { gapMs: 0, violations: [] };
  const heals = faults.filter((f) => f.worker === 'all' && f.fault === 'heal' && f.t > last.end).map((f) => f.t);
  const gapMs = Math.max(0, runEnd - Math.max(last.end, ...heals));
  const violations =
    bound !== undefined && gapMs > bound
      ? [`leaderless for ${gapMs.toFixed(0)} ms (bound ${bound} ms): after ${last.worker} (token ${last.token}, ${last.endedBy}) until the run ended`]
      : [];
  return { gapMs, violations };
}

/** For each fault that removed a worker: when every partition it held at that moment had a newer owner. */
function recoveries(faults: readonly Fault[], tenures: readonly PartitionTenure[]): GroupVerdict['recoveries'] {
  const result: { fault: string; worker: string; partitions: number; ms: number }[] = [];
  for (const fault of faults) {
    if (!REMOVING.includes(fault.fault) || fault.worker === 'all') continue;
    const held = tenures.filter((t) => t.worker === fault.worker && t.start <= fault.t && t.end >= fault.t);
    if (held.length === 0) continue;
    const next = held.map((h) => tenures.find((t) => t.partition === h.partition && t.start >= fault.t && t.token > h.token));
    if (next.some((t) => t === undefined)) continue; // the run ended first
    result.push({ fault: fault.fault, worker: fault.worker, partitions: held.length, ms: Math.max(...next.map((t) => t!.start)) - fault.t });
  }
  return result;
}

/**
 * Which workers can own partitions at a moment: seen by then (any event of their own, or their
 * join), not killed, not frozen.
 */
function membership(events: readonly HistoryEvent[], faults: readonly Fault[]): (t: number) => Set<string> {
  const firstSeen = new Map<string, number>();
  for (const event of events) {
    if (event.worker === 'all' || event.kind === 'reaped' || firstSeen.has(event.worker)) continue;
    if (event.kind !== 'fault' || event.fault === 'join') firstSeen.set(event.worker, event.t);
  }
  const changes = faults.filter((f) => ['kill', 'stop', 'cont'].includes(f.fault)).sort((a, b) => a.t - b.t);
  return (t) => {
    const live = new Set([...firstSeen].filter(([, seen]) => seen <= t).map(([worker]) => worker));
    for (const fault of changes) {
      if (fault.t > t) break;
      if (fault.fault === 'cont') live.add(fault.worker);
      else live.delete(fault.worker);
    }
    return live;
  };
}

/** Partitions each live worker believes it owns at `t`, or undefined if some partition is owned by no live worker. */
function countsAt(t: number, tenures: readonly PartitionTenure[], live: ReadonlySet<string>, runEnd: number): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries([...live].map((worker) => [worker, 0]));
  for (const tenure of tenures) {
    const open = tenure.start <= t && (t < tenure.end || (tenure.end === runEnd && tenure.endedBy === 'run ended'));
    if (open && live.has(tenure.worker)) counts[tenure.worker]!++;
  }
  return counts;
}

/** Each worker's longest spell running and owning nothing, sampled every 100 ms. */
function idleSpells(start: number, runEnd: number, liveAt: (t: number) => Set<string>, tenures: readonly PartitionTenure[]): Record<string, number> {
  const since = new Map<string, number>();
  const longest: Record<string, number> = {};
  for (let t = start; t <= runEnd; t += 100) {
    const counts = countsAt(t, tenures, liveAt(t), runEnd);
    for (const worker of new Set([...since.keys(), ...Object.keys(counts)])) {
      if (counts[worker] === 0) {
        if (!since.has(worker)) since.set(worker, t);
        longest[worker] = Math.max(longest[worker] ?? 0, t - since.get(worker)!);
      } else {
        since.delete(worker);
        longest[worker] ??= 0;
      }
    }
  }
  return longest;
}

/** For each event that changes the members: the first moment before the next one that the group is balanced. */
function rebalances(
  liveAt: (t: number) => Set<string>,
  faults: readonly Fault[],
  tenures: readonly PartitionTenure[],
  partitions: number,
  runEnd: number,
): GroupVerdict['rebalances'] {
  const changes = faults.filter((f) => REBALANCING.includes(f.fault) && f.worker !== 'all');
  const moments = [...new Set(tenures.flatMap((t) => [t.start, t.end]))].sort((a, b) => a - b);
  return changes.map((fault, i) => {
    const until = changes[i + 1]?.t ?? runEnd;
    // From the first change after the event: at the event itself nothing has moved yet (a member that leaves still owns its share).
    const balancedAt = moments.filter((m) => m > fault.t && m <= until).find((m) => {
      const counts = Object.values(countsAt(m, tenures, liveAt(m), runEnd));
      const owned = counts.reduce((total, n) => total + n, 0);
      return counts.length > 0 && owned === partitions && Math.max(...counts) - Math.min(...counts) <= 1;
    });
    return { fault: fault.fault, worker: fault.worker, ms: balancedAt === undefined ? undefined : balancedAt - fault.t };
  });
}
