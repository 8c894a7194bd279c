import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { DEFAULT_SKEW_MS } from '../../lib/core/defaults.js';
import { InvalidArgumentError } from '../../lib/index.js';
import { eventBridgePublisher, reapExpiredLeases } from '../../lib/serverless/index.js';
import type { Cli } from '../context.js';
import { durationOption } from '../duration.js';
import { ExitCode } from '../exit-codes.js';

export function reapCommand(program: Command, cli: Cli): void {
  program
    .command('reap')
    .description('run the reaper once: mark leases past expiry + skew, and the minute it fell in, as expired (and publish events with --event-bus)')
    .option(
      '--skew <duration>',
      'only leases past expiresAt + skew are reaped (when events go out; never who may take a lease)',
      durationOption('--skew'),
      DEFAULT_SKEW_MS,
    )
    .option('--event-bus <name>', "publish a Lease Expired event per reaped lease to this EventBridge bus ('default' for the account's)")
    .action(async (flags: { skew: number; eventBus?: string }) => {
      const { options, client, print } = await cli.openLeaseTable();
      const publisher = flags.eventBus
        ? eventBridgePublisher({
            // --endpoint is DynamoDB's; EventBridge takes the SDK's own (AWS_ENDPOINT_URL_EVENTBRIDGE).
            client: await eventBridgeClient(options.region),
            ...(flags.eventBus !== 'default' && { eventBusName: flags.eventBus }),
          })
        : undefined;
      const summary = await reapExpiredLeases({ client, tableName: options.table, skewMs: flags.skew, ...(publisher && { publisher }) });
      print(
        `reaped ${summary.reaped} of ${summary.scanned} expired leases (${summary.raced} renewed meanwhile, ${summary.skipped} left for later)` +
          (publisher ? `, ${summary.eventsFailed} events failed` : ''),
        summary,
      );
      if (summary.eventsFailed > 0) process.exitCode = ExitCode.outcome;
    });
}

/**
 * Loaded only for `reap --event-bus`: @aws-sdk/client-eventbridge is an optional peer of the
 * package, so every other command must run without it.
 */
async function eventBridgeClient(region: string | undefined): Promise<EventBridgeClient> {
  try {
    const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
    return new EventBridgeClient({ ...(region && { region }) });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code !== 'ERR_MODULE_NOT_FOUND' || !message?.includes("'@aws-sdk/client-eventbridge'")) throw error;
    throw new InvalidArgumentError('--event-bus', 'needs @aws-sdk/client-eventbridge: npm install @aws-sdk/client-eventbridge');
  }
}
