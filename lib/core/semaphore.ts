/**
 * A counting semaphore: at most `limit` holders of one name at once, built from `limit` ordinary
 * leases (its slots), so every property of a lease holds per slot and "at most `limit`" follows.
 *
 * Slot 0 is the lease `<name>` itself and slot `i` the lease `<name>[i]`. So a semaphore of limit
 * 1 is the mutex of the same name, and callers with different limits on one name share the low
 * slots: a caller of limit L only ever holds slots 0 to L − 1, and at most the largest limit in
 * use hold at once. Changing a limit, or turning a mutex into a semaphore, is safe during a
 * rollout: old and new callers never hold more than the larger of the two limits between them.
 *
 * An acquisition tries the slots in a random order, free-looking ones first, and stops at the
 * first it wins: one conditional write while slots are free. Each refusal names the slot's holder
 * and expiry (DynamoDB returns the item that failed the condition), which this instance remembers:
 * its next pass tries the slots it has not seen busy first, and a waiting acquisition sleeps
 * until the earliest slot it saw can be taken (or `pollMs`, to notice a release sooner).
 *
 * @module
 */
import { sleep, type Clock } from './clock.js';
import { checkLeases } from './contracts.js';
import { DEFAULT_SKEW_MS } from './defaults.js';
import { InvalidArgumentError, LeaseUnavailableError, type HolderSnapshot } from './errors.js';
import type { Lease } from './lease.js';
import type { AcquireOptions, LeaseDescription, WaitingAcquireOptions } from './lease-client.js';
import { MAX_LEASE_NAME_BYTES } from './schema.js';
import { checkDurationMs, checkLeaseName, MAX_TIMER_MS, rejectUnknownKeys } from './validate.js';

/**
 * The largest limit a semaphore may have: every slot is a lease item, and `describe` reads each.
 */
export const MAX_SEMAPHORE_LIMIT = 100;

/**
 * What a {@link Semaphore} uses of its lease client. A `LeaseClient` implements it; so does
 * anything implementing `SingletonLeases`, or a client from another installed copy of this package.
 */
export interface SemaphoreLeases {
  /** The clock waits are measured on, and the randomness that orders the slots. */
  readonly clock: Clock;
  /**
   * The client's skew allowance, in ms: when a busy slot can first be taken, for a waiter's sleep.
   * Without it the default is assumed; the conditional write decides either way. @default 1000
   */
  readonly skewMs?: number;
  /**
   * Acquires a lease, waiting up to `waitMs` (see `LeaseClient.acquire`). Called with `waitMs: 0`:
   * one acquisition whose {@link LeaseUnavailableError} names the holder and its expiry.
   */
  acquire(name: string, options: WaitingAcquireOptions): Promise<Lease>;
  /** Reads a lease with a strongly consistent read (see `LeaseClient.describe`). */
  describe(name: string): Promise<LeaseDescription | undefined>;
}

/** Options of {@link Semaphore}. */
export interface SemaphoreOptions {
  /** The lease client to acquire the slots with: its table, holder id, clock and skew allowance. */
  readonly leases: SemaphoreLeases;
  /**
   * The semaphore's name: slot 0 is the lease of this name, slot `i` the lease `<name>[i]`. It
   * must not itself end in `[<digits>]`, and must fit `MAX_LEASE_NAME_BYTES` with the last
   * slot's suffix.
   */
  readonly name: string;
  /** How many may hold it at once: a whole number from 1 to {@link MAX_SEMAPHORE_LIMIT}. */
  readonly limit: number;
}

/** One slot of a semaphore, as {@link Semaphore.describe} reads it. */
export interface SemaphoreSlot {
  /** The slot's number, 0 to `limit − 1`. */
  readonly slot: number;
  /** The slot's lease name: the semaphore's name for slot 0, `<name>[<slot>]` for the others. */
  readonly name: string;
  /** The slot's lease, judged by the client's clock; `undefined` if it was never acquired. */
  readonly lease: LeaseDescription | undefined;
}

/** A slot held by someone: who, and when it can first be taken. */
interface Busy {
  readonly holder: HolderSnapshot | undefined;
  /** Monotonic ms at which the slot can first be taken, by the wall-clock rule. */
  readonly takeableAt: number;
}

/** What this instance has learned of one slot: held by itself, or seen busy. */
type SlotKnowledge = { readonly mine: Lease } | Busy;

const OPTIONS = ['leases', 'name', 'limit'] as const;
const ACQUIRE_OPTIONS = ['leaseMs', 'data'] as const;
const WAIT_OPTIONS = [...ACQUIRE_OPTIONS, 'waitMs', 'pollMs', 'signal'] as const;
const SEMAPHORE_LEASES = { clock: 'clock', acquire: 'function', describe: 'function' } as const;

/** The suffix that makes a lease name a slot of another semaphore. */
const SLOT_SUFFIX = /\[\d+\]$/;

/**
 * A counting semaphore: at most `limit` holders of `name` at once. Each acquisition returns an
 * ordinary {@link Lease} on one slot, with that slot's own fencing token: renew and release it,
 * watch its `signal`, and use it with `fencedWrite` as any lease. A resource that several
 * holders write to at once keeps the highest token per slot (`lease.name`), e.g.
 * `fencingCondition(lease.fencingToken, { attribute: 'fence:' + lease.name })`, since each
 * slot counts its own tokens.
 */
export class Semaphore {
  /** The semaphore's name, which is also slot 0's lease name. */
  readonly name: string;
  /** How many may hold it at once. */
  readonly limit: number;
  /** The slots' lease names, slot 0 first: `name`, `name[1]`, ..., `name[limit − 1]`. */
  readonly slots: readonly string[];
  private readonly leases: SemaphoreLeases;
  private readonly known = new Map<number, SlotKnowledge>();

  constructor(options: SemaphoreOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
    rejectUnknownKeys('options', options, OPTIONS);
    checkLeases(options.leases, 'SemaphoreLeases', SEMAPHORE_LEASES);
    checkSemaphoreName(options.name);
    checkSemaphoreLimit('limit', options.limit);
    this.slots = Array.from({ length: options.limit }, (_, slot) => slotName(options.name, slot));
    const longest = Buffer.byteLength(this.slots.at(-1)!, 'utf8');
    if (longest > MAX_LEASE_NAME_BYTES) {
      const suffixBytes = longest - Buffer.byteLength(options.name, 'utf8');
      throw new InvalidArgumentError(
        'name',
        `must be at most ${MAX_LEASE_NAME_BYTES - suffixBytes} UTF-8 bytes at limit ${options.limit}, so that its last slot ("<name>[${options.limit - 1}]") fits ${MAX_LEASE_NAME_BYTES}`,
      );
    }
    this.leases = options.leases;
    this.name = options.name;
    this.limit = options.limit;
  }

  /**
   * Acquires a slot if one can be taken now: tries the slots in a random order (those this
   * instance has seen busy last), one conditional write each, until one is won. Returns
   * `undefined` when every slot refused. One write while a slot is free; never more than `limit`.
   */
  async tryAcquire(options: AcquireOptions): Promise<Lease | undefined> {
    checkAcquire(options, ACQUIRE_OPTIONS);
    return this.pass(options, undefined);
  }

  /**
   * Acquires a slot, waiting up to `waitMs`. After a pass in which every slot refused, it sleeps
   * until the earliest of them can first be taken, or `pollMs` to notice a release, with jitter;
   * each wake costs up to `limit` writes, so raise `pollMs` for many waiters on a large limit.
   * Throws {@link LeaseUnavailableError} (naming the semaphore and the holder of the slot that
   * frees first) when the wait runs out; rejects with the signal's reason when it aborts.
   */
  async acquire(options: WaitingAcquireOptions): Promise<Lease> {
    checkAcquire(options, WAIT_OPTIONS);
    const waitMs = options.waitMs ?? 60_000;
    checkDurationMs('waitMs', waitMs, { max: Number.MAX_SAFE_INTEGER });
    const pollMs = options.pollMs ?? 1_000;
    checkDurationMs('pollMs', pollMs, { min: 0, exclusiveMin: true, max: MAX_TIMER_MS });
    const { clock } = this.leases;
    const started = clock.monotonicNow();
    for (;;) {
      options.signal?.throwIfAborted();
      const lease = await this.pass(options, options.signal);
      if (lease) return lease;
      const now = clock.monotonicNow();
      const left = waitMs - (now - started);
      const soonest = this.soonestBusy();
      if (left <= 0) throw new LeaseUnavailableError(this.name, soonest?.holder, now - started);
      const nextTryInMs = Math.max(0, Math.min(soonest ? soonest.takeableAt - now : pollMs, pollMs));
      const jitter = clock.random() * Math.min(100, nextTryInMs / 10 + 10);
      await sleep(clock, Math.min(nextTryInMs + jitter, left), options.signal);
    }
  }

  /** Reads every slot with a strongly consistent read (`limit` reads, sent at once), slot 0 first. */
  async describe(): Promise<SemaphoreSlot[]> {
    return Promise.all(this.slots.map(async (name, slot) => ({ slot, name, lease: await this.leases.describe(name) })));
  }

  /**
   * One pass over the slots: each tried once, in the order `order` gives, until one is won. A
   * slot the store failed on (throttled, unreachable) does not stop the pass, since DynamoDB
   * throttles one hot item before the table; its error is thrown only if no other slot was won.
   */
  private async pass(options: AcquireOptions, signal: AbortSignal | undefined): Promise<Lease | undefined> {
    const acquire = { leaseMs: options.leaseMs, ...(options.data !== undefined && { data: options.data }), ...(signal && { signal }) };
    let failure: unknown;
    for (const slot of this.order()) {
      try {
        // `waitMs: 0` makes it one conditional write, as `tryAcquire` is, but a refusal comes
        // back as an error naming the holder and its expiry, which `tryAcquire` would discard.
        const lease = await this.leases.acquire(this.slots[slot]!, { ...acquire, waitMs: 0 });
        this.known.set(slot, { mine: lease });
        return lease;
      } catch (error) {
        if (isLeaseUnavailable(error)) this.known.set(slot, { holder: error.holder, takeableAt: this.takeableAt(error.holder) });
        // An acquisition of that slot that landed unseen lapses on its own within `leaseMs`.
        else if (isRetryableStoreError(error)) failure = error;
        else throw error;
      }
    }
    if (failure !== undefined) throw failure;
    return undefined;
  }

  /**
   * The slots to try, in order: those not known busy in a random order (so contenders spread out
   * and one free slot costs one write), then those seen busy, soonest takeable first. A slot this
   * instance still holds is left out: it cannot be won again, and a try would only be refused.
   */
  private order(): number[] {
    const now = this.leases.clock.monotonicNow();
    const open: number[] = [];
    const busy: { slot: number; takeableAt: number }[] = [];
    for (let slot = 0; slot < this.limit; slot++) {
      const known = this.known.get(slot);
      if (known && 'mine' in known) {
        if (known.mine.isHeld) continue;
        this.known.delete(slot);
      } else if (known && known.takeableAt > now) {
        busy.push({ slot, takeableAt: known.takeableAt });
        continue;
      }
      open.push(slot);
    }
    for (let i = open.length - 1; i > 0; i--) {
      const j = Math.floor(this.leases.clock.random() * (i + 1));
      [open[i], open[j]] = [open[j]!, open[i]!];
    }
    return [...open, ...busy.sort((a, b) => a.takeableAt - b.takeableAt).map((b) => b.slot)];
  }

  /**
   * When a refused slot can first be taken, by the wall-clock rule (`expiresAt + skewMs`). The
   * lease client may take it sooner by the observed-unchanged rule; `pollMs` bounds the wait.
   */
  private takeableAt(holder: HolderSnapshot | undefined): number {
    const { clock } = this.leases;
    const now = clock.monotonicNow();
    if (!holder) return now;
    const skewMs = typeof this.leases.skewMs === 'number' ? this.leases.skewMs : DEFAULT_SKEW_MS;
    // Both rules are strict inequalities: it is takeable one ms past the boundary.
    return now + Math.max(0, holder.expiresAt + skewMs - clock.wallNow()) + 1;
  }

  /** The busy slot, this instance's own included, that can be taken first, if any is known. */
  private soonestBusy(): Busy | undefined {
    let soonest: Busy | undefined;
    for (const known of this.known.values()) {
      const busy = 'mine' in known ? this.ownBusy(known.mine) : known;
      if (busy && (!soonest || busy.takeableAt < soonest.takeableAt)) soonest = busy;
    }
    return soonest;
  }

  /** A slot this instance holds, as it looks to others; `undefined` once given up or lost. */
  private ownBusy(lease: Lease): Busy | undefined {
    if (!lease.isHeld) return undefined;
    const holder = { holderId: lease.holderId, fencingToken: lease.fencingToken, expiresAt: lease.expiresAt };
    return { holder, takeableAt: this.takeableAt(holder) };
  }
}

/** The lease name of slot `slot` of the semaphore `name`. */
function slotName(name: string, slot: number): string {
  return slot === 0 ? name : `${name}[${slot}]`;
}

/** A semaphore's name: a lease name that is not already some semaphore's slot. */
function checkSemaphoreName(name: unknown): asserts name is string {
  checkLeaseName(name);
  if (SLOT_SUFFIX.test(name)) {
    throw new InvalidArgumentError('name', `must not end in [<digits>]: "${name}" is how a semaphore names one of its slots`);
  }
}

/** A semaphore's limit: a whole number from 1 to {@link MAX_SEMAPHORE_LIMIT}. */
export function checkSemaphoreLimit(argument: string, limit: unknown): asserts limit is number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SEMAPHORE_LIMIT) {
    throw new InvalidArgumentError(argument, `must be a whole number from 1 to ${MAX_SEMAPHORE_LIMIT}, got ${String(limit)}`);
  }
}

function checkAcquire(options: AcquireOptions, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, allowed);
  // Checked here too: a pass that skips every slot (all held by this instance) sends nothing.
  checkDurationMs('leaseMs', options.leaseMs, { exclusiveMin: true });
}

/** Whether `error` is a {@link LeaseUnavailableError}, this copy's or another installed copy's. */
function isLeaseUnavailable(error: unknown): error is LeaseUnavailableError {
  return error instanceof LeaseUnavailableError || (error instanceof Error && error.name === 'LeaseUnavailableError' && 'holder' in error);
}

/** A `LeaseStoreError` (of this or another copy) that sending again may cure: throttling, a lost connection. */
function isRetryableStoreError(error: unknown): boolean {
  return error instanceof Error && (error as { retryable?: unknown }).retryable === true;
}
