import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { formatDuration } from '../duration.js';
import { describeLine } from '../output.js';
import { heldOwner, sessionAlive } from '../sessions.js';
import { Semaphore, type LeaseDescription } from '../../lib/index.js';
import { checkSemaphoreLimit } from '../../lib/core/semaphore.js';

export function statusCommand(program: Command, cli: Cli): void {
  program
    .command('status')
    .description('show one lease, or with --limit each slot of a semaphore')
    .argument('<name>', 'lease name')
    .option('--limit <n>', "a semaphore's limit: show each of its slots (the lease <name>, then <name>[1] ...)", limitOption)
    .action(async (name: string, flags: { limit?: number }) => {
      const { leases, print } = await cli.openLeaseTable();
      if (flags.limit !== undefined) {
        const slots = await new Semaphore({ leases: leases(), name, limit: flags.limit }).describe();
        const lines = slots.map((slot) => (slot.lease ? describeLine(slot.lease, Date.now()) : `${slot.name}: never acquired`));
        print(lines.join('\n'), slots.map((slot) => ({ ...slot, lease: slot.lease ?? null })));
        return;
      }
      const client = leases();
      const lease = await client.describe(name);
      if (!lease) {
        print(`${name}: never acquired`, null);
        return;
      }
      // Runs recorded done under this name (runOnce, the singleton's oncePer), newest first.
      const done = lease.doneRuns.map((run) => `\n  done ${run.key} (token ${run.fencingToken}, ${new Date(run.doneAt).toISOString()})`);
      const owner = heldOwner(lease);
      if (!owner) {
        print(describeLine(lease, Date.now()) + done.join(''), lease);
        return;
      }
      // Held through a session: it lasts exactly as long as that session, in that generation.
      const session = await client.describe(owner.session);
      const now = Date.now();
      const alive = sessionAlive(session, now, client.skewMs, owner.generation);
      const how =
        alive && session
          ? `alive, expires in ${formatDuration(session.expiresAt - now)}`
          : `dead (${deadReason(session, owner.generation)}): a group member may take it`;
      const ownerSession = { name: owner.session, generation: owner.generation, alive, state: session?.state ?? null, expiresAt: session?.expiresAt ?? null };
      print(`${describeLine(lease, now)}; the session is ${how}${done.join('')}`, { ...lease, ownerSession });
    });
}

/** `--limit`, checked as a semaphore checks it before anything is sent. */
function limitOption(text: string): number {
  const limit = Number(text);
  checkSemaphoreLimit('--limit', limit);
  return limit;
}

/** Why a lease's owner session no longer keeps it. */
function deadReason(session: LeaseDescription | undefined, generation: number): string {
  if (!session) return 'its item is gone';
  if (session.fencingToken !== generation) return `now in generation ${session.fencingToken}`;
  return session.state === 'held' ? 'past its expiry and the skew allowance' : session.state;
}
