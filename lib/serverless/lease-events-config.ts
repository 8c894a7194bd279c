import { eventBusNameOf, ReaperEnvironment } from './reaper-config.js';

/**
 * The environment variables the `LeaseEvents` construct sets and its Lambda reads, named once for
 * both sides. Dependency-free (as is this module), so `leasehold/cdk` can import it.
 */
export const LeaseEventsEnvironment = {
  /** The bus events go to; unset, empty or `default` is the account's default bus. The reaper's variable, with the same meaning. */
  eventBusName: ReaperEnvironment.eventBusName,
} as const;

/**
 * The function stops sending this long before its Lambda deadline, and reports the rest for
 * Lambda to resend: one event with all three of its sends (2 s each, at most) must fit, since a
 * function killed after a send landed would have Lambda publish that event again. The construct
 * refuses a timeout that leaves no room beyond it.
 */
export const STOP_BEFORE_DEADLINE_MS = 8_000;

/** The `LeaseEvents` Lambda's configuration, set by the construct as environment variables. */
export interface LeaseEventsConfig {
  /** `undefined`: the account's default bus. */
  readonly eventBusName: string | undefined;
}

/** Reads the `LeaseEvents` Lambda's environment. */
export function readLeaseEventsConfig(env: Record<string, string | undefined>): LeaseEventsConfig {
  return { eventBusName: eventBusNameOf(env[LeaseEventsEnvironment.eventBusName]) };
}
