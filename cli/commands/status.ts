import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { describeLine } from '../output.js';

export function statusCommand(program: Command, cli: Cli): void {
  program
    .command('status')
    .description('show one lease')
    .argument('<name>', 'lease name')
    .action(async (name: string) => {
      const { leases, print } = await cli.openLeaseTable();
      const lease = await leases().describe(name);
      if (!lease) {
        print(`${name}: never acquired`, null);
        return;
      }
      print(describeLine(lease, Date.now()), lease);
    });
}
