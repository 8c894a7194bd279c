import { InvalidArgumentError } from '../core/errors.js';

/** The reaper Lambda's configuration, set by the `LeaseReaper` construct as environment variables. */
export interface ReaperConfig {
  /** From `LEASEHOLD_TABLE_NAME`, which must be set. */
  readonly tableName: string;
  /** `undefined`: the account's default bus. */
  readonly eventBusName: string | undefined;
  /** From `LEASEHOLD_SKEW_MS`, a whole number of ms. @default 1000 */
  readonly skewMs: number;
}

/** Reads and checks the reaper's environment, naming the variable at fault. */
export function readReaperConfig(env: Record<string, string | undefined>): ReaperConfig {
  const tableName = env.LEASEHOLD_TABLE_NAME;
  if (!tableName) throw new InvalidArgumentError('LEASEHOLD_TABLE_NAME', 'must be set to the lease table name');
  const skew = env.LEASEHOLD_SKEW_MS ?? '1000';
  const skewMs = Number(skew);
  if (!/^\d+$/.test(skew) || !Number.isSafeInteger(skewMs)) {
    throw new InvalidArgumentError('LEASEHOLD_SKEW_MS', `must be a whole number of milliseconds, got "${skew}"`);
  }
  const bus = env.LEASEHOLD_EVENT_BUS_NAME;
  return { tableName, skewMs, eventBusName: bus === undefined || bus === '' || bus === 'default' ? undefined : bus };
}
