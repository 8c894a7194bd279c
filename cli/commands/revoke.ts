import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { endLease } from '../end-lease.js';

export function revokeCommand(program: Command, cli: Cli): void {
  program
    .command('revoke')
    .summary("free a lease whoever holds it (an operator's action; the holder isn't told)")
    .description(
      "Free a lease whoever holds it, on an operator's word (LeaseClient.revoke), provided it still carries the fencing token just read: " +
        'a holder that took it meanwhile is never touched. The holder is not told and believes it holds the lease until its own deadline; ' +
        'only its fencing token, superseded by the next acquisition, keeps its writes out. A holder giving up its own lease uses `release`.',
    )
    .argument('<name>', 'lease name')
    .action(async (name: string) => endLease(await cli.openLeaseTable(), { name, outcome: 'revoked' }));
}
