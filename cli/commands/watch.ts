import type { Command } from 'commander';
import { sleep, systemClock } from '../../lib/index.js';
import { allLeases } from '../all-leases.js';
import type { Cli } from '../context.js';
import { durationOption } from '../duration.js';
import { describeLine } from '../output.js';

export function watchCommand(program: Command, cli: Cli): void {
  program
    .command('watch')
    .description('print a line each time a lease (or any lease) changes, until Ctrl-C')
    .argument('[name]', 'lease name (default: every lease)')
    .option('--poll <duration>', 'how often to read the table', durationOption('--poll'), 1_000)
    .action(async (name: string | undefined, flags: { poll: number }) => {
      const connection = await cli.openLeaseTable();
      const leases = connection.leases();
      const snapshot = async () => {
        if (name === undefined) return allLeases(leases);
        const lease = await leases.describe(name);
        return lease ? [lease] : [];
      };
      const seen = new Map<string, string>();
      let stopped = false;
      void cli.io.interrupted.then(() => (stopped = true));
      while (!stopped) {
        for (const lease of await snapshot()) {
          const key = `${lease.state}/${lease.holderId}/${lease.fencingToken}`;
          if (seen.get(lease.name) === key) continue;
          seen.set(lease.name, key);
          connection.print(`${new Date().toISOString()}  ${describeLine(lease, Date.now())}`, lease);
        }
        await Promise.race([sleep(systemClock, flags.poll), cli.io.interrupted]);
      }
    });
}
