import type { Command } from 'commander';
import { createLeaseTable } from '../../lib/index.js';
import type { Cli } from '../context.js';

export function createTableCommand(program: Command, cli: Cli): void {
  program
    .command('create-table')
    .description('create the lease table (on-demand, with the reaper and session indexes); no-op if it exists')
    .action(async () => {
      const { options, client, print } = cli.connect();
      await createLeaseTable(client, options.table);
      print(`table ${options.table} is ready`, { table: options.table, ready: true });
    });
}
