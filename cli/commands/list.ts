import type { Command } from 'commander';
import type { LeaseDescription } from '../../lib/index.js';
import { allLeases } from '../all-leases.js';
import type { Cli } from '../context.js';
import { formatDuration } from '../duration.js';
import { leaseTable, textTable } from '../output.js';
import { publishedOf } from '../../lib/group/published.js';
import { sessionAlive, sessionNameOf } from '../sessions.js';

export function listCommand(program: Command, cli: Cli): void {
  program
    .command('list')
    .description('list every lease in the table, marking sessions and the leases held through them; with --sessions, only the sessions')
    .option('--sessions', "list only sessions (leases named <group>#session#<id>): each one's group, state and what it published")
    .action(async (flags: { sessions?: boolean }) => {
      const { options, leases, print } = await cli.openLeaseTable();
      const client = leases();
      const all = await allLeases(client);
      const now = Date.now();
      if (flags.sessions) {
        const sessions = all.flatMap(sessionRow);
        print(sessions.length ? sessionTable(sessions, now) : `no sessions in ${options.table}`, sessions);
        return;
      }
      const byName = new Map(all.map((lease) => [lease.name, lease]));
      const ownerAlive = (owner: NonNullable<LeaseDescription['owner']>) => sessionAlive(byName.get(owner.session), now, client.skewMs, owner.generation);
      const marked = all.map((lease) => {
        const session = sessionNameOf(lease.name);
        return session ? { ...lease, session: { ...session, owns: publishedOf(lease.data).owns.length } } : lease;
      });
      print(all.length ? leaseTable(all, now, ownerAlive) : `no leases in ${options.table}`, marked);
    });
}

/** A session as `list --sessions` shows it. */
interface SessionRow {
  readonly name: string;
  readonly group: string;
  readonly id: string;
  readonly holderId: string;
  /** The session lease's fencing token. */
  readonly generation: number;
  readonly state: LeaseDescription['state'];
  readonly expiresAt: number;
  readonly weight: number;
  readonly owns: readonly string[];
  readonly wants: readonly string[];
}

function sessionRow(lease: LeaseDescription): SessionRow[] {
  const session = sessionNameOf(lease.name);
  if (!session) return [];
  const { weight, owns, wants } = publishedOf(lease.data);
  return [{ name: lease.name, ...session, holderId: lease.holderId, generation: lease.fencingToken, state: lease.state, expiresAt: lease.expiresAt, weight, owns, wants }];
}

function sessionTable(sessions: readonly SessionRow[], now: number): string {
  return textTable([
    ['GROUP', 'SESSION', 'HOLDER', 'GENERATION', 'STATE', 'EXPIRES IN', 'OWNS', 'WANTS', 'WEIGHT'],
    ...sessions.map((s) => [
      s.group,
      s.id,
      s.holderId,
      String(s.generation),
      s.state,
      s.state === 'held' ? formatDuration(s.expiresAt - now) : '-',
      String(s.owns.length),
      String(s.wants.length),
      String(s.weight),
    ]),
  ]);
}
