/**
 * Defaults that more than one layer states (the client, the reaper's configuration, the CLI),
 * written once so they cannot drift apart.
 *
 * @module
 */

/**
 * The wall-clock skew allowance, in ms: a contender takes a held lease only once past
 * `expiresAt + skewMs`, and the reaper reports a lease expired only past the same bound.
 */
export const DEFAULT_SKEW_MS = 1_000;
