import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { describeLine } from '../output.js';
import { Semaphore } from '../../lib/index.js';
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
      const lease = await leases().describe(name);
      if (!lease) {
        print(`${name}: never acquired`, null);
        return;
      }
      // Runs recorded done under this name (runOnce, the singleton's oncePer), newest first.
      const done = lease.doneRuns.map((run) => `\n  done ${run.key} (token ${run.fencingToken}, ${new Date(run.doneAt).toISOString()})`);
      print(describeLine(lease, Date.now()) + done.join(''), lease);
    });
}

/** `--limit`, checked as a semaphore checks it before anything is sent. */
function limitOption(text: string): number {
  const limit = Number(text);
  checkSemaphoreLimit('--limit', limit);
  return limit;
}
