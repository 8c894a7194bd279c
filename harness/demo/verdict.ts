import type { Verdict } from '../proof/check.js';
import { spread } from '../proof/check.js';
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
