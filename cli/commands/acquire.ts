import type { Command } from 'commander';
import { LeaseUnavailableError, type Lease, type LeaseClient, type LeaseLostError } from '../../lib/index.js';
import { renewWhileHeld } from '../../lib/elector/renewal.js';
import { defaultHolderId, type Cli, type Connection } from '../context.js';
import { durationOption } from '../duration.js';
import { ExitCode } from '../exit-codes.js';
import { describeState } from '../output.js';

interface AcquireFlags {
  lease: number;
  wait?: number;
  hold?: boolean;
  holder: string;
}

export function acquireCommand(program: Command, cli: Cli): void {
  program
    .command('acquire')
    .description('acquire a lease; with --hold, keep renewing it until Ctrl-C, then release it')
    .argument('<name>', 'lease name')
    .requiredOption('--lease <duration>', 'lease duration, e.g. 30s', durationOption('--lease'))
    .option('--wait <duration>', 'wait this long for a busy lease', durationOption('--wait'))
    .option('--hold', 'keep holding (renewing every lease/3, as LeaderElector does) until interrupted')
    .option('--holder <id>', 'holder id to acquire as', defaultHolderId())
    .action(async (name: string, flags: AcquireFlags) => {
      const connection = await cli.openLeaseTable();
      const leases = connection.leases({ holderId: flags.holder });
      const lease = await acquireOrUndefined(leases, name, flags);
      if (!lease) {
        const current = await leases.describe(name);
        connection.print(`${name}: busy, ${current ? describeState(current, Date.now()) : 'held'}`, { acquired: false, current });
        process.exitCode = ExitCode.outcome;
        return;
      }
      const { holderId, fencingToken, expiresAt } = lease;
      connection.print(`${name}: acquired by ${holderId} with fencing token ${fencingToken}`, { acquired: true, name, holderId, fencingToken, expiresAt });
      if (flags.hold) await hold(lease, { connection, leases, leaseMs: flags.lease, interrupted: cli.io.interrupted });
    });
}

/** `undefined` when busy, whether or not it waited: both are the same outcome to a CLI user. */
async function acquireOrUndefined(leases: LeaseClient, name: string, flags: AcquireFlags): Promise<Lease | undefined> {
  if (flags.wait === undefined) return leases.tryAcquire(name, { leaseMs: flags.lease });
  try {
    return await leases.acquire(name, { leaseMs: flags.lease, waitMs: flags.wait });
  } catch (error) {
    if (error instanceof LeaseUnavailableError) return undefined;
    throw error;
  }
}

interface HoldOptions {
  readonly connection: Connection;
  readonly leases: LeaseClient;
  readonly leaseMs: number;
  readonly interrupted: Promise<void>;
}

/**
 * Renews the lease as the elector's leader does until it is lost or the user stops, then releases
 * it. A lost lease is not released: it is no longer this holder's, and saying "released" would
 * tell the operator the name is free when someone else may hold it.
 */
async function hold(lease: Lease, { connection, leases, leaseMs, interrupted }: HoldOptions): Promise<void> {
  const renewing = renewWhileHeld(lease, { clock: leases.clock, leaseMs, renewEveryMs: leaseMs / 3 });
  await Promise.race([renewing, interrupted]);
  const loss = lease.signal.reason as LeaseLostError | undefined;
  if (loss && loss.reason !== 'released') {
    connection.print(`${lease.name}: lost: ${loss.message}`, { lost: true, reason: loss.reason });
    process.exitCode = ExitCode.outcome;
    await renewing;
    return;
  }
  await lease.release();
  await renewing;
  connection.print(`${lease.name}: released`, { released: true, name: lease.name, fencingToken: lease.fencingToken });
}
