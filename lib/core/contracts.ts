/**
 * What the elector and the singleton need from a lease client, as interfaces rather than the
 * `LeaseClient` class (as client-go's elector talks to `resourcelock.Interface`): so a client
 * from another installed copy of this package, or a wrapper around one, works as well. The
 * checks here are by shape, never `instanceof`, which fails across copies.
 *
 * @module
 */
import type { Clock } from './clock.js';
import { InvalidArgumentError, LeaseLostError } from './errors.js';
import type { Lease } from './lease.js';
import type { AcquireOptions, LeaseDescription, WaitingAcquireOptions } from './lease-client.js';

/** Options of {@link ElectionLeases.peek}. */
export interface PeekOptions {
  /** Read the latest (a full read unit) rather than an eventually consistent read. @default false */
  readonly consistent?: boolean;
  /** Bounds the read below the client's `requestTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Aborts the read. */
  readonly signal?: AbortSignal;
}

/** What {@link ElectionLeases.peek} returns. */
export interface PeekResult {
  /** The lease as read (possibly stale unless `consistent`); `undefined` if it was never acquired. */
  readonly lease: LeaseDescription | undefined;
  /** Ms until this client could first take it, by either expiry path; 0 when it can try now. */
  readonly takeableInMs: number;
}

/**
 * What `LeaderElector` (and, of it, `observeLeader`) uses of its lease client. A `LeaseClient`
 * implements it; so may a wrapper, or a client from another installed copy of this package.
 */
export interface ElectionLeases {
  /** Who this client acquires as: how the elector tells its own leadership from another's. */
  readonly holderId: string;
  /** The clock the elector and its leases run on. */
  readonly clock: Clock;
  /** How far apart clocks may drift, as a rate: with `guardMs`, what a leader takes off each lease before trusting it. */
  readonly driftRatio: number;
  /** How many ms before the drift-adjusted deadline a holder stops trusting a lease. */
  readonly guardMs: number;
  /** A cheap look at a lease and how long until this client could first take it (see `LeaseClient.peek`). */
  peek(name: string, options?: PeekOptions): Promise<PeekResult>;
  /** Acquires the lease if it can be taken now; `undefined` when someone else holds it (see `LeaseClient.tryAcquire`). */
  tryAcquire(name: string, options: AcquireOptions): Promise<Lease | undefined>;
}

/**
 * What the middy `singleton` uses of its lease client. A `LeaseClient` implements it; so may a
 * wrapper, or a client from another installed copy of this package.
 */
export interface SingletonLeases {
  /** The clock that bounds how long a release is waited for. */
  readonly clock: Clock;
  /** Acquires the lease if it can be taken now; `undefined` when someone else holds it (see `LeaseClient.tryAcquire`). */
  tryAcquire(name: string, options: AcquireOptions): Promise<Lease | undefined>;
  /** Acquires the lease, waiting for it up to `waitMs` (see `LeaseClient.acquire`). */
  acquire(name: string, options: WaitingAcquireOptions): Promise<Lease>;
  /** Reads a lease with a strongly consistent read (see `LeaseClient.describe`): who holds it, for the busy error. */
  describe(name: string): Promise<LeaseDescription | undefined>;
}

/**
 * The standby-slot writes a lease client offers its elector. Not public API: the elector finds
 * them under {@link STANDBY_SLOTS}, and an {@link ElectionLeases} without them elects as with
 * `standbys: 0`.
 *
 * @internal
 */
export interface StandbySlots {
  /** Registers the client in slot `slot` of a lease for `untilMs` (wall clock), if free, lapsed or its own. */
  claim(name: string, slot: number, untilMs: number): Promise<boolean>;
  /** Gives up slot `slot` if the client has it. */
  release(name: string, slot: number): Promise<void>;
}

/**
 * The key of a lease client's method returning its {@link StandbySlots}. `Symbol.for`, so an
 * elector from one installed copy of this package finds a client's from another; versioned, so
 * a copy whose slots work differently is ignored rather than misused.
 *
 * @internal
 */
export const STANDBY_SLOTS: unique symbol = Symbol.for('leasehold.standbySlots/1');

/** The standby slots `leases` offers, or `undefined` when it offers none. @internal */
export function standbySlotsOf(leases: object): StandbySlots | undefined {
  const offer: unknown = (leases as { [STANDBY_SLOTS]?: unknown })[STANDBY_SLOTS];
  return typeof offer === 'function' ? (offer.call(leases) as StandbySlots) : undefined;
}

/** How a member is checked: by `typeof`, or, for `clock`, as a {@link Clock}. */
type MemberKind = 'string' | 'number' | 'function' | 'clock';

/** The members of {@link ElectionLeases}, for {@link checkLeases}. */
export const ELECTION_LEASES = {
  holderId: 'string',
  clock: 'clock',
  driftRatio: 'number',
  guardMs: 'number',
  peek: 'function',
  tryAcquire: 'function',
} as const satisfies Record<keyof ElectionLeases, MemberKind>;

/** The members of {@link SingletonLeases}, for {@link checkLeases}. */
export const SINGLETON_LEASES = {
  clock: 'clock',
  tryAcquire: 'function',
  acquire: 'function',
  describe: 'function',
} as const satisfies Record<keyof SingletonLeases, MemberKind>;

const CLOCK_MEMBERS = ['monotonicNow', 'wallNow', 'random', 'setTimer'] as const satisfies readonly (keyof Clock)[];

/**
 * Checks that `leases` has every member of `contract` (named `name` in the message), by shape.
 * Throws `InvalidArgumentError` for `leases`, naming what is missing.
 */
export function checkLeases(leases: unknown, name: string, contract: Readonly<Record<string, MemberKind>>): void {
  if (leases === null || typeof leases !== 'object') throw new InvalidArgumentError('leases', `must implement ${name}, as a LeaseClient does`);
  const missing = Object.entries(contract).flatMap(([member, kind]) => mismatched(leases as Record<string, unknown>, member, kind));
  if (missing.length > 0) {
    throw new InvalidArgumentError('leases', `must implement ${name}, as a LeaseClient does (missing or mistyped: ${missing.join(', ')})`);
  }
}

function mismatched(leases: Record<string, unknown>, member: string, kind: MemberKind): string[] {
  const value = leases[member];
  if (kind !== 'clock') return typeof value === kind ? [] : [member];
  if (value === null || typeof value !== 'object') return [member];
  return CLOCK_MEMBERS.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function').map((method) => `${member}.${method}`);
}

/**
 * Whether `error` is a {@link LeaseLostError}, this copy's or another installed copy's (whose
 * leases a client from that copy hands out): `instanceof` alone misses the latter.
 */
export function isLeaseLostError(error: unknown): error is LeaseLostError {
  return error instanceof LeaseLostError || (error instanceof Error && error.name === 'LeaseLostError' && 'fencingToken' in error && 'reason' in error);
}
