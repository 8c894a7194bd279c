import { DEFAULT_SKEW_MS } from '../core/defaults.js';
import { InvalidArgumentError } from '../core/errors.js';

/**
 * The environment variables the `LeaseReaper` construct sets and the reaper Lambda reads, named
 * once for both sides. Dependency-free (as is this module), so `leasehold/cdk` can import it.
 */
export const ReaperEnvironment = {
  /** The lease table's name. Required. */
  tableName: 'LEASEHOLD_TABLE_NAME',
  /** The bus `Lease Expired` events go to; unset, empty or `default` is the account's default bus. */
  eventBusName: 'LEASEHOLD_EVENT_BUS_NAME',
  /** The skew allowance, a whole number of ms. */
  skewMs: 'LEASEHOLD_SKEW_MS',
} as const;

/** The reaper Lambda's configuration, set by the `LeaseReaper` construct as environment variables. */
export interface ReaperConfig {
  /** From `LEASEHOLD_TABLE_NAME`, which must be set. */
  readonly tableName: string;
  /** `undefined`: the account's default bus. */
  readonly eventBusName: string | undefined;
  /** From `LEASEHOLD_SKEW_MS`, a whole number of ms. @default DEFAULT_SKEW_MS (1000), the clients' default */
  readonly skewMs: number;
}

/** Reads and checks the reaper's environment, naming the variable at fault. */
export function readReaperConfig(env: Record<string, string | undefined>): ReaperConfig {
  const tableName = env[ReaperEnvironment.tableName];
  if (!tableName) throw new InvalidArgumentError(ReaperEnvironment.tableName, 'must be set to the lease table name');
  const skew = env[ReaperEnvironment.skewMs];
  const skewMs = skew === undefined ? DEFAULT_SKEW_MS : Number(skew);
  if (skew !== undefined && (!/^\d+$/.test(skew) || !Number.isSafeInteger(skewMs))) {
    throw new InvalidArgumentError(ReaperEnvironment.skewMs, `must be a whole number of milliseconds, got "${skew}"`);
  }
  const bus = env[ReaperEnvironment.eventBusName];
  return { tableName, skewMs, eventBusName: bus === undefined || bus === '' || bus === 'default' ? undefined : bus };
}
