import type { Command } from 'commander';
import { InvalidArgumentError } from '../../lib/index.js';
import { defaultHolderId, type Cli } from '../context.js';
import { endLease } from '../end-lease.js';

export function releaseCommand(program: Command, cli: Cli): void {
  program
    .command('release')
    .summary('give up a lease you hold, as --holder')
    .description(
      'Give up a lease as its holder: it is released only if --holder holds it, as `acquire` took it. ' +
        'To free a lease whoever holds it, an operator uses `revoke`.',
    )
    .argument('<name>', 'lease name')
    .option('--holder <id>', 'the holder giving it up (as acquired with acquire --holder)', defaultHolderId())
    .action(async (name: string, flags: { holder: string }) => {
      // The holder's Lease object lives in another process (or none), so the release is a revoke
      // at the token read, once the read shows this holder holds it.
      await endLease(await cli.openLeaseTable(), {
        name,
        outcome: 'released',
        check: ({ holderId }) => {
          if (holderId !== flags.holder) {
            throw new InvalidArgumentError('--holder', `${name} is held by ${holderId}, not ${flags.holder}; use revoke to free it whoever holds it`);
          }
        },
      });
    });
}
