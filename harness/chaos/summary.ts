/**
 * The chaos run's report: a table a person reads (the checks first, then what was injected and
 * what it cost in failover time) and the same facts as JSON.
 *
 * @module
 */
import type { NetworkFaultCounts } from '../../lib/testing/faults.js';
import { spread, type Verdict } from '../proof/check.js';
import type { GroupVerdict } from '../proof/check-group.js';
import type { FaultKind } from './plan.js';

export interface ChaosFacts {
  readonly seed: number;
  readonly minutes: number;
  readonly workers: number;
  readonly leaseMs: number;
  readonly skewMs: number;
  readonly leaderlessBoundMs: number;
  readonly verdict: Verdict;
  readonly ledger: { readonly entries: number; readonly violations: readonly string[] };
  readonly injected: Record<FaultKind, number>;
  readonly faultsFired: NetworkFaultCounts;
}

const count = (violations: readonly string[], prefix: string) => violations.filter((v) => v.startsWith(prefix)).length;
const yesOr = (n: number, what: string) => (n === 0 ? 'yes' : `NO: ${n} ${what}`);
const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;

export function chaosSummary(facts: ChaosFacts): { text: string; json: Record<string, unknown> } {
  const { verdict, ledger } = facts;
  const violations = [...verdict.violations, ...ledger.violations];
  const longestLeaderless = Math.max(0, ...verdict.leaderlessGapsMs);
  const failovers = Object.fromEntries(
    [...new Set(verdict.failovers.map((f) => f.fault))].map((fault) => {
      const gaps = verdict.failovers.filter((f) => f.fault === fault).map((f) => f.gapMs);
      return [fault, { count: gaps.length, ...spread(gaps)! }];
    }),
  );
  const checks: [string, string][] = [
    ['one leader at a time', yesOr(count(verdict.violations, 'overlap'), 'overlaps')],
    ['tokens grew at every election', yesOr(count(verdict.violations, 'token did not grow'), 'regressions')],
    ['no stale write accepted (histories)', yesOr(count(verdict.violations, 'stale') + count(verdict.violations, 'write accepted from'), 'stale writes')],
    ['ledger tokens never went down', yesOr(count(ledger.violations, 'stale'), 'stale writes landed')],
    ['ledger matches the histories', yesOr(ledger.violations.length - count(ledger.violations, 'stale'), 'mismatches')],
    [`leaderless at most ${ms(facts.leaderlessBoundMs)}`, `${yesOr(count(verdict.violations, 'leaderless'), 'longer spells')} (longest ${ms(longestLeaderless)})`],
  ];
  const lines = [
    '',
    `chaos verdict: ${violations.length === 0 ? 'NO VIOLATIONS' : `${violations.length} VIOLATIONS`}  (seed ${facts.seed}, ` +
      `${facts.minutes.toFixed(1)} min, ${facts.workers} workers started, lease ${facts.leaseMs} ms, skew ${facts.skewMs} ms)`,
    ...checks.map(([check, result]) => `  ${check.padEnd(38)} ${result}`),
    `  ${'elections'.padEnd(38)} ${verdict.elections}`,
    `  ${'fenced writes'.padEnd(38)} ${verdict.writesAccepted} accepted, ${verdict.writesRejected} refused, ` +
      `${verdict.writesUnknown} answer lost; ledger holds ${ledger.entries}`,
    `  ${'faults injected'.padEnd(38)} ${Object.entries(facts.injected).map(([kind, n]) => `${kind} ${n}`).join(' · ')}`,
    `  ${'network faults that fired'.padEnd(38)} ${facts.faultsFired.throttled} throttled, ${facts.faultsFired.dropped} answers lost, ` +
      `${facts.faultsFired.delayed} delayed, ${facts.faultsFired.hiddenRetries} landed behind throttled SDK resends, ` +
      `${facts.faultsFired.conflicts} transaction conflicts (killed workers' counts are lost)`,
    ...Object.entries(failovers).map(
      ([fault, g]) => `  ${`failover after ${fault}`.padEnd(38)} n=${g.count}  min ${ms(g.min)} · median ${ms(g.median)} · max ${ms(g.max)}`,
    ),
    ...violations.map((v) => `  VIOLATION: ${v}`),
  ];
  return {
    text: lines.join('\n'),
    json: {
      ok: violations.length === 0,
      seed: facts.seed,
      minutes: facts.minutes,
      workers: facts.workers,
      leaseMs: facts.leaseMs,
      skewMs: facts.skewMs,
      leaderlessBoundMs: facts.leaderlessBoundMs,
      longestLeaderlessMs: longestLeaderless,
      elections: verdict.elections,
      writes: { accepted: verdict.writesAccepted, refused: verdict.writesRejected, unknown: verdict.writesUnknown, ledgerEntries: ledger.entries },
      injected: facts.injected,
      faultsFired: facts.faultsFired,
      failoverMs: failovers,
      violations,
    },
  };
}

/** The group mode's facts: the per-partition verdict (ledger checks included) instead of one lease's. */
export interface GroupChaosFacts extends Omit<ChaosFacts, 'verdict' | 'ledger' | 'leaderlessBoundMs'> {
  readonly verdict: GroupVerdict;
  /** The longest a partition may go unowned after one failure. */
  readonly unownedBoundMs: number;
  /** The longest a running member may own no partition. */
  readonly idleBoundMs: number;
  readonly ledgerEntries: number;
}

/** Min / median / max of each fault's measures, by fault. */
function byFault(items: readonly { fault: string; ms: number | undefined }[]): Record<string, { count: number; min: number; median: number; max: number; unmeasured: number }> {
  return Object.fromEntries(
    [...new Set(items.map((i) => i.fault))].map((fault) => {
      const values = items.filter((i) => i.fault === fault).map((i) => i.ms);
      const measured = values.filter((v): v is number => v !== undefined);
      return [fault, { count: measured.length, ...(spread(measured) ?? { min: NaN, median: NaN, max: NaN }), unmeasured: values.length - measured.length }];
    }),
  );
}

/** The chaos report of a group-mode run: the checks held in every partition, then how the group moved. */
export function groupChaosSummary(facts: GroupChaosFacts): { text: string; json: Record<string, unknown> } {
  const { verdict } = facts;
  const { violations } = verdict;
  // Every violation names its partition; the checks are told apart by what follows.
  const unprefixed = violations.map((v) => v.replace(/^partition [^:]*: /, ''));
  const longestUnowned = Math.max(0, ...verdict.unownedGapsMs);
  const recovered = byFault(verdict.recoveries);
  const rebalanced = byFault(verdict.rebalances);
  const ledgerCount = count(unprefixed, 'stale write landed') + count(unprefixed, 'accepted write') + count(unprefixed, 'refused write') + count(unprefixed, 'ledger entry');
  const checks: [string, string][] = [
    ['one owner per partition at a time', yesOr(count(unprefixed, 'overlap'), 'overlaps')],
    ['tokens grew at every acquisition', yesOr(count(unprefixed, 'token did not grow'), 'regressions')],
    ['no stale write accepted (histories)', yesOr(count(unprefixed, 'stale write accepted') + count(unprefixed, 'write accepted from'), 'stale writes')],
    ['ledger tokens never went down', yesOr(count(unprefixed, 'stale write landed'), 'stale writes landed')],
    ['ledgers match the histories', yesOr(ledgerCount - count(unprefixed, 'stale write landed'), 'mismatches')],
    [`unowned at most ${ms(facts.unownedBoundMs)}`, `${yesOr(count(unprefixed, 'leaderless'), 'longer spells')} (longest ${ms(longestUnowned)})`],
    [`no member idle over ${ms(facts.idleBoundMs)}`, `${yesOr(count(unprefixed, 'member'), 'members stuck')} (longest ${ms(Math.max(0, ...Object.values(verdict.idleMs)))})`],
  ];
  const row = (label: string, value: string) => `  ${label.padEnd(38)} ${value}`;
  const lines = [
    '',
    `chaos verdict: ${violations.length === 0 ? 'NO VIOLATIONS' : `${violations.length} VIOLATIONS`}  (group mode, ${verdict.partitions} partitions, seed ${facts.seed}, ` +
      `${facts.minutes.toFixed(1)} min, ${facts.workers} workers started, lease ${facts.leaseMs} ms, skew ${facts.skewMs} ms)`,
    ...checks.map(([check, result]) => row(check, result)),
    row('acquisitions', `${verdict.acquisitions}: ${verdict.handoffs} handed over, ${verdict.takeovers} taken over (owner killed or its session lost), ${verdict.releases} released`),
    row('fenced writes', `${verdict.writesAccepted} accepted, ${verdict.writesRejected} refused, ${verdict.writesUnknown} answer lost; ledgers hold ${facts.ledgerEntries}`),
    row('faults injected', Object.entries(facts.injected).map(([kind, n]) => `${kind} ${n}`).join(' · ')),
    row('network faults that fired', `${facts.faultsFired.throttled} throttled, ${facts.faultsFired.dropped} answers lost, ` +
      `${facts.faultsFired.delayed} delayed, ${facts.faultsFired.hiddenRetries} landed behind throttled SDK resends, ` +
      `${facts.faultsFired.conflicts} transaction conflicts (killed workers' counts are lost)`),
    ...Object.entries(recovered).map(([fault, g]) => row(`all its partitions owned after ${fault}`, `n=${g.count}  min ${ms(g.min)} · median ${ms(g.median)} · max ${ms(g.max)}`)),
    ...Object.entries(rebalanced).map(([fault, g]) =>
      row(`balanced after ${fault}`, `${g.count > 0 ? `n=${g.count}  min ${ms(g.min)} · median ${ms(g.median)} · max ${ms(g.max)}` : 'n=0'}${g.unmeasured ? ` (${g.unmeasured} cut short by the next fault)` : ''}`),
    ),
    row('final balance', Object.values(verdict.finalCounts).join(' / ')),
    ...violations.map((v) => `  VIOLATION: ${v}`),
  ];
  return {
    text: lines.join('\n'),
    json: {
      ok: violations.length === 0,
      mode: 'group',
      partitions: verdict.partitions,
      seed: facts.seed,
      minutes: facts.minutes,
      workers: facts.workers,
      leaseMs: facts.leaseMs,
      skewMs: facts.skewMs,
      unownedBoundMs: facts.unownedBoundMs,
      idleBoundMs: facts.idleBoundMs,
      idleMs: verdict.idleMs,
      longestUnownedMs: longestUnowned,
      acquisitions: verdict.acquisitions,
      handoffs: verdict.handoffs,
      takeovers: verdict.takeovers,
      releases: verdict.releases,
      writes: { accepted: verdict.writesAccepted, refused: verdict.writesRejected, unknown: verdict.writesUnknown, ledgerEntries: facts.ledgerEntries },
      injected: facts.injected,
      faultsFired: facts.faultsFired,
      ownedAgainMs: recovered,
      balancedMs: rebalanced,
      finalCounts: verdict.finalCounts,
      violations,
    },
  };
}
