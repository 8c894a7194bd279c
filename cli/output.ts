import type { LeaseDescription } from '../lib/index.js';
import { formatDuration } from './duration.js';

/** One line about a lease, as a person reads it. */
export function describeLine(lease: LeaseDescription, now: number): string {
  return `${lease.name}: ${describeState(lease, now)}`;
}

/** A lease's state without its name, for lines that already start with it. */
export function describeState(lease: LeaseDescription, now: number): string {
  const token = `token ${lease.fencingToken}`;
  if (lease.state === 'held') return `held by ${lease.holderId} (${token}), expires in ${formatDuration(lease.expiresAt - now)}`;
  return `${lease.state} (last holder ${lease.holderId}, ${token})`;
}

/** A plain text table: a header row, then one row per lease. */
export function leaseTable(leases: readonly LeaseDescription[], now: number): string {
  const rows = [
    ['NAME', 'STATE', 'HOLDER', 'TOKEN', 'EXPIRES IN'],
    ...leases.map((l) => [
      l.name,
      l.state,
      l.holderId,
      String(l.fencingToken),
      l.state === 'held' ? formatDuration(l.expiresAt - now) : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
