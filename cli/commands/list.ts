import type { Command } from 'commander';
import { allLeases } from '../all-leases.js';
import type { Cli } from '../context.js';
import { leaseTable } from '../output.js';

export function listCommand(program: Command, cli: Cli): void {
  program
    .command('list')
    .description('list every lease in the table')
    .action(async () => {
      const { options, leases, print } = await cli.openLeaseTable();
      const all = await allLeases(leases());
      print(all.length ? leaseTable(all, Date.now()) : `no leases in ${options.table}`, all);
    });
}
