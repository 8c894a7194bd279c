/**
 * What `release` and `revoke` share: read the lease, then free it with `LeaseClient.revoke` at
 * the fencing token read, so a holder that took it in between is never touched.
 *
 * @module
 */
import type { LeaseDescription } from '../lib/index.js';
import type { Connection } from './context.js';
import { ExitCode } from './exit-codes.js';

export interface EndLeaseOptions {
  readonly name: string;
  /** The word the output says it with, the command's own. */
  readonly outcome: 'released' | 'revoked';
  /** Throws to refuse (nothing written) once the lease is read, e.g. when someone else holds it. */
  readonly check?: (current: LeaseDescription) => void;
}

export async function endLease(connection: Connection, { name, outcome, check }: EndLeaseOptions): Promise<void> {
  const leases = connection.leases();
  const current = await leases.describe(name);
  if (!current || current.state === 'released') {
    connection.print(`${name}: not held`, { [outcome]: false, name, reason: 'not held' });
    return;
  }
  check?.(current);
  const { holderId, fencingToken } = current;
  const ended = await leases.revoke(name, fencingToken);
  connection.print(
    ended ? `${name}: ${outcome} (was ${holderId}, token ${fencingToken})` : `${name}: changed meanwhile; not ${outcome}`,
    { [outcome]: ended, name, holderId, fencingToken },
  );
  if (!ended) process.exitCode = ExitCode.outcome;
}
