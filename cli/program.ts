/**
 * The `leasehold` command line: operators' view of a lease table. This file wires the global
 * options and the commands; each command, a thin layer over `LeaseClient`, is a file of its own
 * under `commands/`. Parsing is commander's.
 *
 * @module
 */
import { Command, Option } from 'commander';
import { acquireCommand } from './commands/acquire.js';
import { createTableCommand } from './commands/create-table.js';
import { groupCommand } from './commands/group.js';
import { listCommand } from './commands/list.js';
import { reapCommand } from './commands/reap.js';
import { releaseCommand } from './commands/release.js';
import { revokeCommand } from './commands/revoke.js';
import { statusCommand } from './commands/status.js';
import { watchCommand } from './commands/watch.js';
import { cliOf, parseEndpoint, type Io } from './context.js';

/** In the order `--help` lists them. */
const COMMANDS = [createTableCommand, listCommand, statusCommand, groupCommand, acquireCommand, releaseCommand, revokeCommand, watchCommand, reapCommand];

export function buildProgram(io: Io): Command {
  const program = new Command('leasehold')
    .description('Inspect and operate leasehold lease tables.')
    .addOption(new Option('--table <name>', 'lease table').env('LEASEHOLD_TABLE_NAME').default('leasehold'))
    .option('--endpoint <url>', 'DynamoDB endpoint (e.g. a local server)', parseEndpoint)
    .option('--region <region>', 'AWS region (default: from the environment)')
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError('(run with --help for usage)')
    // Before any command is added: subcommands copy this setting when created.
    .exitOverride();
  const cli = cliOf(program, io);
  for (const addCommand of COMMANDS) addCommand(program, cli);
  return program;
}
