/**
 * Reads a run's history and judges it against the safety properties: leadership intervals never
 * overlap, tokens grow with each election, no write is accepted with a token below one already
 * accepted (after one with a higher token was answered), and no write is accepted from a worker
 * that never led with its token; optionally, that no spell without a leader outlasts a bound. The
 * resource's own record (the ledger) is judged by {@link checkLedger}.
 *
 * @module
 */
import type { HistoryEvent } from './history.js';

/** One worker's leadership under one token, from election to the end of its belief. */
export interface Tenure {
  readonly worker: string;
  readonly token: number;
  readonly start: number;
  /** When belief ended: deposed, resigned, or the worker was killed; the run's end if still leading. */
  readonly end: number;
  readonly endedBy: string;
}

export interface Verdict {
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly tenures: readonly Tenure[];
  readonly elections: number;
  /** Time from each fault that removed a leader to the next election, ms. */
  readonly failoverGapsMs: readonly number[];
  /** The same, with the fault that caused each. */
  readonly failovers: readonly { readonly fault: string; readonly worker: string; readonly gapMs: number }[];
  /** Times with no leader between consecutive tenures, ms. */
  readonly leaderlessGapsMs: readonly number[];
  readonly writesAccepted: number;
  readonly writesRejected: number;
  /** Writes whose answer was lost: they may or may not have landed. */
  readonly writesUnknown: number;
}

/** What the run promises beyond safety. */
export interface CheckOptions {
  /** The longest a name may go without a leader between two tenures, ms. @default no limit */
  readonly leaderlessBoundMs?: number;
}

export function tenuresOf(events: readonly HistoryEvent[], runEnd: number): Tenure[] {
  const open = new Map<string, { token: number; start: number }>();
  const tenures: Tenure[] = [];
  const close = (worker: string, end: number, endedBy: string) => {
    const current = open.get(worker);
    if (!current) return;
    open.delete(worker);
    tenures.push({ worker, token: current.token, start: current.start, end: Math.max(current.start, end), endedBy });
  };
  for (const event of events) {
    if (event.kind === 'elected') {
      close(event.worker, event.t, 'next election');
      open.set(event.worker, { token: event.token, start: event.t });
    } else if (event.kind === 'deposed' && open.get(event.worker)?.token === event.token) {
      close(event.worker, event.t, event.reason);
    } else if (event.kind === 'fault' && event.fault === 'kill') {
      close(event.worker, event.t, 'killed');
    }
  }
  for (const worker of [...open.keys()]) close(worker, runEnd, 'run ended');
  return tenures.sort((a, b) => a.start - b.start);
}

type WriteEvent = Extract<HistoryEvent, { kind: 'write' }>;

export function check(events: readonly HistoryEvent[], runEnd: number, options: CheckOptions = {}): Verdict {
  const violations: string[] = [];
  const tenures = tenuresOf(events, runEnd);
  for (let i = 1; i < tenures.length; i++) {
    const [previous, next] = [tenures[i - 1]!, tenures[i]!];
    if (next.start < previous.end) {
      violations.push(
        `overlap: ${next.worker} (token ${next.token}) elected ${(previous.end - next.start).toFixed(1)} ms ` +
          `before ${previous.worker} (token ${previous.token}) stopped leading`,
      );
    }
    if (next.token <= previous.token) {
      violations.push(`token did not grow: ${previous.token} (${previous.worker}) then ${next.token} (${next.worker})`);
    }
  }

  const writes = events.filter((e): e is WriteEvent => e.kind === 'write');
  const accepted = writes.filter((w) => w.outcome === 'accepted');
  for (const write of accepted) {
    // Stale only if provably later: a higher token was accepted and answered before this write
    // was even sent. Writes whose intervals overlap may have landed in either order.
    const newer = accepted.find((other) => other.token > write.token && other.t < write.sentAt);
    if (newer) {
      violations.push(`stale write accepted: ${write.worker} with token ${write.token} after ${newer.worker}'s with ${newer.token}`);
    }
    const own = tenures.find((t) => t.worker === write.worker && t.token === write.token);
    if (!own) violations.push(`write accepted from ${write.worker} with token ${write.token}, which it never led with`);
  }

  const failovers: { fault: string; worker: string; gapMs: number }[] = [];
  for (const fault of events) {
    if (fault.kind === 'fault' && fault.worker === 'all' && fault.fault === 'heal') {
      // Nobody could lead while everyone was cut off: recovery counts from the heal.
      const next = tenures.find((t) => t.start >= fault.t);
      if (next) failovers.push({ fault: 'heal of everyone', worker: 'all', gapMs: next.start - fault.t });
      continue;
    }
    if (fault.kind !== 'fault' || !['kill', 'stop', 'resign', 'partition'].includes(fault.fault)) continue;
    // Everyone cut off: counted from the heal above, not from the cut.
    if (fault.fault === 'partition' && fault.detail?.startsWith('every worker')) continue;
    const led = tenures.find((t) => t.worker === fault.worker && t.start <= fault.t && t.end >= fault.t);
    if (!led) continue;
    const next = tenures.find((t) => t.start >= fault.t && t.token > led.token);
    if (next) failovers.push({ fault: fault.fault, worker: fault.worker, gapMs: next.start - fault.t });
  }
  // A spell that spans a cut-off of every worker is judged from the heal: no one could lead before.
  const heals = events.filter((e) => e.kind === 'fault' && e.worker === 'all' && e.fault === 'heal').map((e) => e.t);
  const leaderlessGapsMs = tenures.slice(1).map((t, i) => {
    const end = tenures[i]!.end;
    const from = Math.max(end, ...heals.filter((healed) => healed > end && healed < t.start));
    return Math.max(0, t.start - from);
  });
  const bound = options.leaderlessBoundMs;
  if (bound !== undefined) {
    tenures.slice(1).forEach((next, i) => {
      const gap = leaderlessGapsMs[i]!;
      if (gap > bound) {
        const previous = tenures[i]!;
        violations.push(
          `leaderless for ${gap.toFixed(0)} ms (bound ${bound} ms): after ${previous.worker} (token ${previous.token}, ${previous.endedBy}) ` +
            `until ${next.worker} (token ${next.token})`,
        );
      }
    });
  }

  return {
    ok: violations.length === 0,
    violations,
    tenures,
    elections: tenures.length,
    failoverGapsMs: failovers.map((f) => f.gapMs),
    failovers,
    leaderlessGapsMs,
    writesAccepted: accepted.length,
    writesRejected: writes.filter((w) => w.outcome === 'refused').length,
    writesUnknown: writes.filter((w) => w.outcome === 'unknown').length,
  };
}

/** One write as the resource recorded it, in the order it landed. */
export interface LedgerEntry {
  readonly token: number;
  readonly id: string;
}

/**
 * Judges the resource's own record against the histories: tokens never go down in the order the
 * writes landed (no stale write got in), every accepted write is there, no refused one is, and
 * every entry is a write some worker made. A write whose history line is missing must come from
 * a worker that was SIGKILLed with it in flight.
 */
export function checkLedger(ledger: readonly LedgerEntry[], events: readonly HistoryEvent[]): string[] {
  const violations: string[] = [];
  ledger.forEach((entry, i) => {
    const previous = ledger[i - 1];
    if (previous && entry.token < previous.token) {
      violations.push(`stale write landed: ${entry.id} with token ${entry.token} after ${previous.id} with ${previous.token}`);
    }
  });
  const landed = new Set(ledger.map((entry) => entry.id));
  const writes = new Map(events.filter((e): e is WriteEvent => e.kind === 'write').map((w) => [w.id, w]));
  for (const write of writes.values()) {
    if (write.outcome === 'accepted' && !landed.has(write.id)) violations.push(`accepted write ${write.id} is missing from the ledger`);
    if (write.outcome === 'refused' && landed.has(write.id)) violations.push(`refused write ${write.id} is in the ledger`);
  }
  const killed = new Set(events.filter((e) => e.kind === 'fault' && e.fault === 'kill').map((e) => e.worker));
  for (const entry of ledger) {
    if (writes.has(entry.id)) continue;
    const worker = entry.id.slice(0, entry.id.lastIndexOf('#'));
    if (!killed.has(worker)) violations.push(`ledger entry ${entry.id} is no write ${worker} recorded, and ${worker} was not killed`);
  }
  return violations;
}

/** min / median / max of a list, or undefined for none. */
export function spread(values: readonly number[]): { min: number; median: number; max: number } | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
}
