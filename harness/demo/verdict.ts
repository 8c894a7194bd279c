import type { Verdict } from '../proof/check.js';
import { spread } from '../proof/check.js';
import type { GroupVerdict } from '../proof/check-group.js';
import type { HistoryEvent } from '../proof/history.js';

const seconds = (ms: number) => `${(ms / 1_000).toFixed(2)} s`;

/** The end-of-run summary a person reads: the safety checks first, then the numbers. */
export function printVerdict(
  verdict: Verdict,
  events: readonly HistoryEvent[],
  context: { leaseMs: number; skewMs: number; timeline: string; ledger: { entries: number; violations: readonly string[] } },
): void {
  const faults = events.filter((e) => e.kind === 'fault' && e.fault !== 'cont').map((e) => (e.kind === 'fault' ? e.fault : ''));
  const count = (fault: string) => faults.filter((f) => f === fault).length;
  const gaps = spread(verdict.failoverGapsMs);
  const overlaps = verdict.violations.filter((v) => v.startsWith('overlap')).length;
  const stale = verdict.violations.filter((v) => v.startsWith('stale')).length;
  const lines = [
    '',
    `verdict: ${verdict.ok && context.ledger.violations.length === 0 ? 'SAFE: every check held' : 'UNSAFE'}`,
    `  leaders elected        ${verdict.elections}`,
    `  faults injected        ${count('kill')} SIGKILL, ${count('stop')} SIGSTOP past the lease, ${count('resign')} resign`,
    `  failover gaps          ${gaps ? `min ${seconds(gaps.min)} · median ${seconds(gaps.median)} · max ${seconds(gaps.max)}` : 'none measured'}` +
      `  (lease ${seconds(context.leaseMs)} + skew ${seconds(context.skewMs)})`,
    `  fenced writes          ${verdict.writesAccepted} accepted, ${verdict.writesRejected} refused, ${verdict.writesUnknown} answer lost`,
    `  two leaders at once    ${overlaps === 0 ? 'never' : `${overlaps} times`}`,
    `  stale token accepted   ${stale === 0 ? 'never' : `${stale} times`}`,
    `  ledger                 ${context.ledger.entries} entries: ${context.ledger.violations.length === 0 ? 'tokens never went down; every accepted write kept, no refused one landed' : 'DOES NOT MATCH the histories'}`,
    ...[...verdict.violations, ...context.ledger.violations].map((v) => `  VIOLATION: ${v}`),
    `  timeline               ${context.timeline}`,
  ];
  console.log(lines.join('\n'));
}

const FAULT_NAMES: Record<string, string> = { kill: 'SIGKILL', stop: 'SIGSTOP past the lease', cont: 'SIGCONT', join: 'join', resign: 'leave and rejoin' };

/** Group mode's summary: the checks per partition first, then how the group moved and balanced. */
export function printGroupVerdict(
  verdict: GroupVerdict,
  events: readonly HistoryEvent[],
  context: { leaseMs: number; skewMs: number; timeline: string },
): void {
  const faults = events.filter((e) => e.kind === 'fault' && e.fault !== 'cont' && e.worker !== 'all').map((e) => (e.kind === 'fault' ? e.fault : ''));
  const kinds = [...new Set(faults)];
  const count = (prefix: string) => verdict.violations.filter((v) => v.replace(/^partition [^:]*: /, '').startsWith(prefix)).length;
  const byFault = <T extends { fault: string }>(items: readonly T[], value: (item: T) => number | undefined) =>
    [...new Set(items.map((i) => i.fault))]
      .map((fault) => {
        const values = items.filter((i) => i.fault === fault).map(value);
        const measured = spread(values.filter((v): v is number => v !== undefined));
        const unmeasured = values.length - values.filter((v) => v !== undefined).length;
        return `${fault} ${measured ? `max ${seconds(measured.max)} (n=${values.length - unmeasured})` : 'none'}${unmeasured ? `, ${unmeasured} cut short by the next event` : ''}`;
      })
      .join(' · ') || 'none measured';
  const counts = Object.values(verdict.finalCounts);
  const entries = verdict.writesAccepted; // every accepted write is in its ledger, or the checks say otherwise
  const lines = [
    '',
    `verdict: ${verdict.ok ? 'SAFE: every check held, in every partition' : 'UNSAFE'}`,
    `  partitions             ${verdict.partitions}, acquired ${verdict.acquisitions} times: ${verdict.handoffs} handed over, ${verdict.takeovers} taken over from a dead or frozen owner, ${verdict.releases} released`,
    `  faults injected        ${kinds.map((kind) => `${faults.filter((f) => f === kind).length} ${FAULT_NAMES[kind] ?? kind}`).join(', ') || 'none'}`,
    `  owned again after      ${byFault(verdict.recoveries, (r) => r.ms)}  (lease ${seconds(context.leaseMs)} + skew ${seconds(context.skewMs)})`,
    `  rebalanced after       ${byFault(verdict.rebalances, (r) => r.ms)}  (every partition owned, max − min ≤ 1)`,
    `  final balance          ${counts.join(' / ')}  (max − min ${counts.length ? Math.max(...counts) - Math.min(...counts) : 0})`,
    `  longest unowned        ${seconds(Math.max(0, ...verdict.unownedGapsMs))}`,
    `  fenced writes          ${verdict.writesAccepted} accepted, ${verdict.writesRejected} refused, ${verdict.writesUnknown} answer lost`,
    `  two owners at once     ${count('overlap') === 0 ? 'never' : `${count('overlap')} times`}`,
    `  tokens per partition   ${count('token did not grow') === 0 ? 'grew at every acquisition' : `${count('token did not grow')} times NOT`}`,
    `  stale token accepted   ${count('stale') === 0 ? 'never' : `${count('stale')} times`}`,
    `  ledgers                ${verdict.partitions}, one per partition: ${verdict.violations.length === 0 ? `tokens never went down; all ${entries} accepted writes kept, no refused one landed` : 'see the violations'}`,
    ...verdict.violations.map((v) => `  VIOLATION: ${v}`),
    `  timeline               ${context.timeline}`,
  ];
  console.log(lines.join('\n'));
}
