/**
 * What configures an elector: each option with its default, and the checks that refuse a bad
 * configuration up front (relationships between durations included), one rule and one message
 * each.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js';
import { checkLeases, ELECTION_LEASES, type ElectionLeases } from '../core/contracts.js';
import { MAX_STANDBY_SLOTS } from '../core/schema.js';
import { checkDurationMs, checkLeaseName, rejectUnknownKeys } from '../core/validate.js';
import { noMetrics, type ElectionMetrics } from './metrics.js';

/** Options of `LeaderElector`. */
export interface LeaderElectorOptions {
  /**
   * The lease client to campaign with (its holder id, clock, drift and guard): a `LeaseClient`,
   * from this or another installed copy of the package, or anything implementing
   * {@link ElectionLeases}.
   */
  readonly leases: ElectionLeases;
  /** The lease name: everyone electing one leader uses the same. */
  readonly name: string;
  /** Lease duration. A crashed leader is replaced after about `leaseMs + skewMs`. @default 10000 */
  readonly leaseMs?: number;
  /**
   * How often the leader renews. A third of the lease leaves room for two failed renewals (each
   * retried) before the deadline, at 3 writes per lease period. Must be shorter than the time the
   * leader trusts its lease, `leaseMs · (1 − driftRatio) − guardMs` (the lease client's drift and
   * guard). @default leaseMs / 3
   */
  readonly renewEveryMs?: number;
  /** After losing the lease involuntarily, wait this long before campaigning again. @default 0 */
  readonly lockDelayMs?: number;
  /**
   * The longest a follower sleeps between looks (eventually consistent reads, half a read unit
   * each): bounds how long a resign goes unnoticed. Followers also wake when the leader's lease
   * can first expire. @default leaseMs / 2
   */
  readonly followerWakeMs?: number;
  /**
   * How many followers watch the lease closely (waking when it can first expire, and every
   * `followerWakeMs`). The others register nowhere and look only every `idleWakeMs`, claiming a
   * standby slot when one is free or lapsed: so 50 followers cost the table about what a few do.
   * Standby choice affects only who takes over and how fast, never safety. 0 makes every
   * follower watch closely, as does a `leases` that keeps no standby slots (one that is not a
   * `LeaseClient`). @default 2
   */
  readonly standbys?: number;
  /**
   * How often a follower that is not a standby looks (one eventually consistent read). Bounds
   * failover only when the leader and every standby fail together. @default 4 × leaseMs
   */
  readonly idleWakeMs?: number;
  /**
   * Opt-in progress contract: the longest the leader's work may go without calling
   * `leadership.progress()`, counted on the lease client's monotonic clock from the election and
   * from each call. When it runs out, the elector stops renewing and steps down at once (releases
   * the lease, so a follower takes over): the leadership's signal aborts with a `LeaseLostError`
   * of reason `stalled`, `deposed` says `stalled`, the error goes to `error`, and
   * `LeadershipStalled` is counted. Watched only while `lead` runs: one that has returned has no
   * work left to stall. Any positive value is safe (stepping down early costs an election, never
   * a second leader); pick one longer than the work's longest honest pause between reports. @default none: not watched
   */
  readonly stallMs?: number;
  /**
   * Steps down the same way (reason `stalled`) when this process's event loop lags more than
   * this: a timer on the lease client's clock, armed every quarter of this bound, firing later
   * than due by more than it. A lag past the lease's own trust already loses the lease; this
   * bound steps down earlier, and cleanly, with a release. Checked while this node leads, so it
   * must be shorter than the time the leader trusts its lease,
   * `leaseMs · (1 − driftRatio) − guardMs`. @default none: not watched
   */
  readonly maxEventLoopLagMs?: number;
  /** Payload stored with the lease while this node leads (its address, version, ...). */
  readonly data?: Record<string, unknown>;
  /** Where to report metrics. @default none */
  readonly metrics?: ElectionMetrics;
}

/** Options of `LeaderElector.resign` and `LeaderElector.close`. */
export interface ResignOptions {
  /**
   * How long `lead` may go on after its signal aborts, the lease held and renewed meanwhile so
   * nobody else leads while its last writes land. The lease is released as soon as `lead`
   * settles, or when this runs out. A drain never delays failover more than a crash would
   * (a successor waits `leaseMs + skewMs` for a crashed leader). 0 releases at once.
   * @default leaseMs
   */
  readonly drainMs?: number;
}

type Unset = 'data' | 'stallMs' | 'maxEventLoopLagMs';

/** Every option with its default filled in, checked; the ones with no default may stay unset. */
export type ElectorSettings = Required<Omit<LeaderElectorOptions, Unset>> & Pick<LeaderElectorOptions, Unset>;

const OPTIONS = [
  'leases',
  'name',
  'leaseMs',
  'renewEveryMs',
  'lockDelayMs',
  'followerWakeMs',
  'standbys',
  'idleWakeMs',
  'stallMs',
  'maxEventLoopLagMs',
  'data',
  'metrics',
] as const;
const RESIGN_OPTIONS = ['drainMs'] as const;

/** Checks an elector's options and fills in the defaults. Throws `InvalidArgumentError`. */
export function electorSettings(options: LeaderElectorOptions): ElectorSettings {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, OPTIONS);
  checkLeases(options.leases, 'ElectionLeases', ELECTION_LEASES);
  checkLeaseName(options.name);
  const leaseMs = options.leaseMs ?? 10_000;
  checkDurationMs('leaseMs', leaseMs, { exclusiveMin: true });
  const renewEveryMs = options.renewEveryMs ?? leaseMs / 3;
  checkDurationMs('renewEveryMs', renewEveryMs, { exclusiveMin: true });
  // What a holder trusts each acquisition or renewal for (Lease's deadline): a renewal must
  // land within it, or every term expires before it is extended.
  const { driftRatio, guardMs } = options.leases;
  const trustMs = leaseMs * (1 - driftRatio) - guardMs;
  if (trustMs <= 0) {
    throw new InvalidArgumentError(
      'leaseMs',
      `must be longer than what the leader takes off it before trusting it (leaseMs · driftRatio + guardMs = ${leaseMs * driftRatio + guardMs} ms), got ${leaseMs}`,
    );
  }
  if (renewEveryMs >= trustMs) {
    const given = options.renewEveryMs === undefined ? ' (the default, leaseMs / 3)' : '';
    throw new InvalidArgumentError(
      'renewEveryMs',
      `must be shorter than the time the leader trusts its lease (leaseMs · (1 − driftRatio) − guardMs = ${trustMs} ms), got ${renewEveryMs}${given}`,
    );
  }
  const lockDelayMs = options.lockDelayMs ?? 0;
  checkDurationMs('lockDelayMs', lockDelayMs);
  const followerWakeMs = options.followerWakeMs ?? leaseMs / 2;
  checkDurationMs('followerWakeMs', followerWakeMs, { exclusiveMin: true });
  const standbys = options.standbys ?? 2;
  if (!Number.isInteger(standbys) || standbys < 0 || standbys > MAX_STANDBY_SLOTS) {
    throw new InvalidArgumentError('standbys', `must be a whole number from 0 to ${MAX_STANDBY_SLOTS}`);
  }
  const idleWakeMs = options.idleWakeMs ?? leaseMs * 4;
  checkDurationMs('idleWakeMs', idleWakeMs, { exclusiveMin: true });
  if (options.stallMs !== undefined) checkDurationMs('stallMs', options.stallMs, { exclusiveMin: true });
  if (options.maxEventLoopLagMs !== undefined) {
    checkDurationMs('maxEventLoopLagMs', options.maxEventLoopLagMs, { exclusiveMin: true });
    // A lag that long has already cost the lease, by its own deadline: the bound would never act.
    if (options.maxEventLoopLagMs >= trustMs) {
      throw new InvalidArgumentError(
        'maxEventLoopLagMs',
        `must be shorter than the time the leader trusts its lease (leaseMs · (1 − driftRatio) − guardMs = ${trustMs} ms), got ${options.maxEventLoopLagMs}`,
      );
    }
  }
  return {
    leases: options.leases,
    name: options.name,
    leaseMs,
    renewEveryMs,
    lockDelayMs,
    followerWakeMs,
    standbys,
    idleWakeMs,
    stallMs: options.stallMs,
    maxEventLoopLagMs: options.maxEventLoopLagMs,
    data: options.data,
    metrics: options.metrics ?? noMetrics,
  };
}

/** Checks the options of a resign or close, and returns its drain. Throws `InvalidArgumentError`. */
export function drainMsOf(options: ResignOptions, leaseMs: number): number {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, RESIGN_OPTIONS);
  const drainMs = options.drainMs ?? leaseMs;
  checkDurationMs('drainMs', drainMs);
  return drainMs;
}
