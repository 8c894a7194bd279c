import type { LeaseDescription } from '../lib/index.js';
import { formatDuration } from './duration.js';
import { publishedOf } from '../lib/group/published.js';
import { heldOwner, sessionNameOf } from './sessions.js';

/** One line about a lease, as a person reads it. */
export function describeLine(lease: LeaseDescription, now: number): string {
  return `${lease.name}: ${describeState(lease, now)}`;
}

/**
 * A lease's state without its name, for lines that already start with it. A lease held through a
 * session has no expiry of its own (its `expiresAt` is `NaN`): it names its session instead.
 */
export function describeState(lease: LeaseDescription, now: number): string {
  const token = `token ${lease.fencingToken}`;
  const owner = heldOwner(lease);
  if (owner) return `held by ${lease.holderId} (${token}) through session ${owner.session} (generation ${owner.generation})`;
  if (lease.state === 'held') return `held by ${lease.holderId} (${token}), expires in ${formatDuration(lease.expiresAt - now)}${sessionNote(lease)}`;
  return `${lease.state} (last holder ${lease.holderId}, ${token})${sessionNote(lease)}`;
}

/** `; a session of <group>, owns N` for a session's lease; nothing for any other. */
function sessionNote(lease: LeaseDescription): string {
  const session = sessionNameOf(lease.name);
  return session ? `; a session of ${session.group}, owns ${publishedOf(lease.data).owns.length}` : '';
}

/**
 * A plain text table: a header row, then one row per lease. Its last column names the session a
 * lease is held through (marked dead when `ownerAlive` says so), or for a session's own lease,
 * its group and what it published.
 */
export function leaseTable(leases: readonly LeaseDescription[], now: number, ownerAlive: (owner: NonNullable<LeaseDescription['owner']>) => boolean): string {
  return textTable([
    ['NAME', 'STATE', 'HOLDER', 'TOKEN', 'EXPIRES IN', 'SESSION'],
    ...leases.map((l) => {
      const owner = heldOwner(l);
      const session = sessionNameOf(l.name);
      const published = publishedOf(l.data);
      return [
        l.name,
        l.state,
        l.holderId,
        String(l.fencingToken),
        owner ? 'with session' : l.state === 'held' ? formatDuration(l.expiresAt - now) : '-',
        owner
          ? `${owner.session} (generation ${owner.generation}${ownerAlive(owner) ? '' : ', dead'})`
          : session
            ? `session of ${session.group}: owns ${published.owns.length}, wants ${published.wants.length}`
            : '',
      ];
    }),
  ]);
}

/** Rows of cells as aligned columns, two spaces apart, without trailing blanks. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
