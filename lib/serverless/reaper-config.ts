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
  /**
   * `false`: the reaper publishes no `Lease Expired` events, because the `LeaseEvents` function
   * announces every expiry from the table's stream. Unset or `true`: it publishes them.
   */
  publishEvents: 'LEASEHOLD_REAPER_PUBLISH_EVENTS',
} as const;

/** The reaper Lambda's configuration, set by the `LeaseReaper` construct as environment variables. */
export interface ReaperConfig {
  /** From `LEASEHOLD_TABLE_NAME`, which must be set. */
  readonly tableName: string;
  /** `undefined`: the account's default bus. */
  readonly eventBusName: string | undefined;
  /** From `LEASEHOLD_SKEW_MS`, a whole number of ms. @default DEFAULT_SKEW_MS (1000), the clients' default */
  readonly skewMs: number;
  /** From `LEASEHOLD_REAPER_PUBLISH_EVENTS`, when set: whether to publish `Lease Expired` events. @default true */
  readonly publishEvents?: boolean;
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
  const publish = env[ReaperEnvironment.publishEvents];
  if (publish !== undefined && publish !== 'true' && publish !== 'false') {
    throw new InvalidArgumentError(ReaperEnvironment.publishEvents, `must be true or false, got "${publish}"`);
  }
  return {
    tableName,
    skewMs,
    eventBusName: eventBusNameOf(env[ReaperEnvironment.eventBusName]),
    ...(publish !== undefined && { publishEvents: publish === 'true' }),
  };
}

/** The bus named by `LEASEHOLD_EVENT_BUS_NAME`: unset, empty or `default` is the account's default bus (`undefined`). */
export function eventBusNameOf(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === 'default' ? undefined : value;
}
