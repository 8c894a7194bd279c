/**
 * A held lease: what the holder believes, and for how long it may believe it.
 *
 * Timeline of one acquisition or renewal (monotonic clock of the holder, `sentAt` = when the
 * request left, before DynamoDB saw it):
 *
 *   sentAt ──── write lands ──── answer ──── deadline = sentAt + leaseMs·(1 − drift) − guard
 *                                                       │ signal fires; renew/assertValid refuse
 *   contenders: wall path  ≥ expiresAt + skewMs = sentAtWall + leaseMs + skewMs
 *               observed path ≥ first seen (after the write landed) + leaseMs·(1 + drift)
 *
 * Both contender paths start no earlier than the holder's deadline, so the holder always stops
 * first. Measuring from `sentAt` (not the answer) is what keeps a slow answer from stretching it.
 *
 * The same bound is also kept on the wall clock (`sentAtWall + leaseMs·(1 − drift) − guard`), and
 * trust ends at the earlier of the two. The monotonic clock guards against wall-clock steps (NTP,
 * an operator); the wall clock guards against the monotonic clock standing still while the machine
 * is suspended (a laptop lid, a paused VM, a frozen Lambda environment), when contenders' clocks
 * run on. A wall clock stepped forward only ends trust early, which is safe.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { settledOrAfter, sleep, type Clock, type TimerHandle } from './clock.js';
import { backoffMs } from './backoff.js';
import { LeaseLostError, LeaseStoreError, type HolderSnapshot, type LeaseLossReason } from './errors.js';
import { sendFencedWrite } from './fencing.js';
import { ownWrite, type DoneRun, type LeaseRecord, type WriteOutcome } from './lease-record.js';
import type { LeaseStore } from './lease-store.js';
import { isRetryable } from './store-errors.js';
import { withDeadline } from './deadline.js';
import { checkData, checkDurationMs, rejectUnknownKeys } from './validate.js';
import { checkKeep, checkRunKey, DEFAULT_KEEP_DONE, keptDoneRuns } from './once.js';

/** What a {@link Lease} needs from the client that made it. @internal */
export interface LeaseRuntime {
  readonly store: LeaseStore;
  readonly clock: Clock;
  readonly driftRatio: number;
  readonly guardMs: number;
  /** The longest one request may go unanswered before it is aborted. */
  readonly requestTimeoutMs: number;
}

/** Options of {@link Lease.renew}. */
export interface RenewOptions {
  /** A new lease duration; the current one by default. */
  readonly leaseMs?: number;
  /** A new payload; the current one is kept by default. */
  readonly data?: Record<string, unknown>;
}

/** Options of {@link Lease.releaseDone}. */
export interface ReleaseDoneOptions {
  /**
   * How many done runs the lease item keeps, newest first by fencing token, from 1 to 100: a key
   * pruned past it runs again. @default 10
   */
  readonly keep?: number;
}

type Status = 'held' | 'lost' | 'released';

/** How many times a release is sent while it fails retryably. */
const RELEASE_ATTEMPTS = 5;

/**
 * The longest a timer sleeps before the deadline is checked again. Timers run on the monotonic
 * clock, which stands still while the machine is suspended: the wall-clock bound must be noticed
 * soon after it resumes, not when the monotonic deadline finally comes.
 */
const MAX_CHECK_INTERVAL_MS = 1_000;

/**
 * A lease this process holds. Trust it only while {@link Lease.signal} has not aborted; pass
 * {@link Lease.fencingToken} to every resource you change so a stale holder's writes are refused.
 * Releases itself with `await using`.
 */
export class Lease implements AsyncDisposable {
  /** The lease name. */
  readonly name: string;
  /** Who holds it: this client's holder id. */
  readonly holderId: string;
  /**
   * Grows by at least one with every acquisition of this name, by anyone, forever; renewals keep
   * it. Downstream resources keep the highest they have seen and refuse lower ones.
   */
  readonly fencingToken: number;

  private readonly runtime: LeaseRuntime;
  /**
   * Made when {@link signal} is first read: a lease taken and released with nobody listening
   * (the common singleton) then costs no controller, timer or error, which was a measured share
   * of an acquisition's client CPU.
   */
  private controller: AbortController | undefined;
  private loss: { readonly reason: LeaseLossReason; readonly current: HolderSnapshot | undefined } | undefined;
  private status: Status = 'held';
  private record: LeaseRecord;
  private deadline = 0;
  private wallDeadline = 0;
  private timer: TimerHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The lease item's own writes in flight from this process. DynamoDB refuses a write to an item
   * while a transaction on it is in progress (and cancels a transaction that meets a write), so a
   * renewal and this holder's fenced writes take turns rather than conflict with each other.
   */
  private readonly fencedInFlight = new Set<Promise<unknown>>();
  private renewInFlight: Promise<unknown> | undefined;

  /** @internal Leases come from {@link LeaseClient.tryAcquire} and {@link LeaseClient.acquire}. */
  constructor(runtime: LeaseRuntime, record: LeaseRecord, sent: SendTime) {
    this.runtime = runtime;
    this.record = record;
    this.name = record.name;
    this.holderId = record.holderId;
    this.fencingToken = record.fencingToken;
    this.trustUntil(sent, record.leaseMs);
  }

  /**
   * Aborts the moment this holder may no longer hold the lease; `reason` is a {@link LeaseLostError}.
   * Like any deadline timer, it fires on a turn of the event loop: a signal first read after the
   * deadline passed aborts on the next turn, so a listener added at that read still hears of it.
   * {@link isHeld} and {@link assertValid} judge by the clocks at once.
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      // A deadline already past is told by the timer, on the next turn, as if the signal had
      // existed all along: whoever reads the signal to add a listener must still hear of it.
      if (this.loss) this.controller.abort(this.lostError(this.loss));
      else this.armTimer();
    }
    return this.controller.signal;
  }

  /** The lease duration currently stored, in ms. */
  get leaseMs(): number {
    return this.record.leaseMs;
  }

  /** The wall-clock expiry this holder wrote (epoch ms): what others judge by, not what it trusts. */
  get expiresAt(): number {
    return this.record.expiresAt;
  }

  /** The payload stored with the lease. */
  get data(): Record<string, unknown> | undefined {
    return this.record.data;
  }

  /**
   * The monotonic deadline: the lease's `clock.monotonicNow()` value until which this holder may
   * trust the lease (for the system clock, `performance.now()` ms). Moves later with each renewal.
   * Trust also ends if the wall clock reaches the same bound first (see {@link remainingMs}).
   */
  get validUntil(): number {
    return this.deadline;
  }

  /**
   * Whether this holder may still act on the lease: held, and neither its monotonic deadline nor
   * the same bound on the wall clock passed.
   */
  get isHeld(): boolean {
    this.checkDeadline();
    return this.status === 'held';
  }

  /** Milliseconds left before the deadline, by the earlier of the two clocks; 0 once lost or released. */
  remainingMs(): number {
    if (!this.isHeld) return 0;
    const { clock } = this.runtime;
    return Math.max(0, Math.min(this.deadline - clock.monotonicNow(), this.wallDeadline - clock.wallNow()));
  }

  /** Throws the {@link LeaseLostError} if the lease may no longer be held. Call before acting. */
  assertValid(): void {
    if (!this.isHeld) throw this.signal.reason;
  }

  /**
   * Extends the lease by `leaseMs` from now, retrying writes whose outcome is unknown until the
   * monotonic deadline. Throws {@link LeaseLostError} if the lease was taken, reaped, released or
   * ran out first.
   */
  renew(options: RenewOptions = {}): Promise<void> {
    rejectUnknownKeys('options', options, ['leaseMs', 'data']);
    const leaseMs = options.leaseMs ?? this.record.leaseMs;
    checkDurationMs('leaseMs', leaseMs, { min: this.runtime.guardMs, exclusiveMin: true });
    if (options.data !== undefined) checkData(options.data);
    return this.serialized(() => this.renewNow(leaseMs, options.data));
  }

  /**
   * Stops believing at once, then marks the lease released in the table so others can take it
   * without waiting for expiry. Idempotent; conditional on this fencing token, so it never
   * touches a newer holder's lease.
   */
  release(): Promise<void> {
    if (this.status === 'released') return this.queue.then(() => undefined);
    this.lose('released');
    this.status = 'released';
    return this.serialized(() => this.releaseInStore());
  }

  /**
   * The run `key` as the lease item recorded it done when this holder last read it (at its
   * acquisition, or its latest renewal); `undefined` if it was not. Nobody else records runs
   * while this lease is held, so no later read could show it done either. See `runOnce`.
   */
  doneRun(key: string): DoneRun | undefined {
    return this.record.doneRuns.find((run) => run.key === key);
  }

  /**
   * Releases the lease and records the run `key` done under this fencing token, in one write
   * conditional on this holder still holding the lease at this token: a later acquisition sees
   * the record in {@link doneRun}. Keeps the newest `keep` records. A write whose answer is lost is
   * resent and recognised by the token it recorded, or reconciled by a consistent read.
   *
   * Stops believing at once, as {@link release} does. Throws {@link LeaseLostError} if the lease
   * was taken (or reaped, or already released) first: nothing is recorded, and the key stays
   * open. Throws {@link LeaseStoreError} if the write could not be made; the lease then lapses.
   */
  releaseDone(key: string, options: ReleaseDoneOptions = {}): Promise<void> {
    checkRunKey('key', key);
    rejectUnknownKeys('options', options, ['keep']);
    const keep = options.keep ?? DEFAULT_KEEP_DONE;
    checkKeep('options.keep', keep);
    if (this.status === 'released') return Promise.reject(this.signal.reason);
    this.lose('released');
    this.status = 'released';
    return this.serialized(() => this.recordDone(key, keep));
  }

  /**
   * @internal Stops believing at once and writes nothing, so the lease stays held in the table
   * until it lapses: for a holder whose guarded work may still be running, where a release would
   * let the next holder in beside it.
   */
  abandon(): void {
    this.lose('abandoned');
  }

  /**
   * @internal Use {@link fencedWrite}. Resends a write cancelled by a transaction conflict (nothing
   * was written) with back-off while the lease is held, and throws the last
   * {@link TransactionConflictError} if conflicts outlast the attempts.
   */
  async writeFenced(items: NonNullable<TransactWriteCommandInput['TransactItems']>, signal: AbortSignal = this.signal): Promise<void> {
    // A renewal in flight would cancel the transaction, or be refused because of it.
    const afterRenewal = async () => {
      if (this.renewInFlight) await settledOrAfter(this.runtime.clock, this.renewInFlight, this.remainingMs() / 2);
    };
    await sendFencedWrite(this.runtime, this, items, signal, this.fencedInFlight, afterRenewal);
  }

  /** Releases the lease: `await using lease = await leases.acquire(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private async renewNow(leaseMs: number, data: Record<string, unknown> | undefined): Promise<void> {
    this.assertValid();
    // New fenced writes wait while this renewal waits for the ones in flight and is sent.
    let done = () => {};
    this.renewInFlight = new Promise<void>((resolve) => (done = resolve));
    try {
      await this.renewTurn(leaseMs, data);
    } finally {
      this.renewInFlight = undefined;
      done();
    }
  }

  private async renewTurn(leaseMs: number, data: Record<string, unknown> | undefined): Promise<void> {
    const { store, clock } = this.runtime;
    const nonce = randomUUID();
    let first: SendTime | undefined;
    let minExpiresAt = 0;
    for (let attempt = 0; this.isHeld; attempt++) {
      // This holder's own fenced writes would make DynamoDB refuse the renewal: let the ones in
      // flight finish (a bounded wait: a hung one must not cost the lease), and hold new ones back.
      if (this.fencedInFlight.size > 0) await settledOrAfter(clock, Promise.allSettled(this.fencedInFlight), this.remainingMs() / 4);
      if (!this.isHeld) break;
      const sent = { at: clock.monotonicNow(), wallAt: clock.wallNow() };
      first ??= sent;
      let outcome: WriteOutcome;
      try {
        const request = {
          name: this.name,
          holderId: this.holderId,
          fencingToken: this.fencingToken,
          nonce,
          leaseMs,
          expiresAt: Math.max(sent.wallAt + leaseMs, minExpiresAt),
          wallNow: sent.wallAt,
          data,
        };
        // Bounded by the holder's deadline (the signal) and by requestTimeoutMs, so a renewal
        // lost on a dead connection is sent again, on a new one, while the lease still holds.
        outcome = await withDeadline(clock, this.runtime.requestTimeoutMs, this.signal, (signal) => store.renew(request, signal));
      } catch (error) {
        if (this.isHeld && !isRetryable(error)) throw error;
        // The table is the only witness of a renewal whose answer never came.
        const landed = (error as LeaseStoreError).outcomeUnknown ? await this.storedWrite(nonce) : undefined;
        if (!landed) {
          await sleep(clock, Math.min(backoffMs(attempt, clock), this.remainingMs()), this.signal).catch(() => {});
          continue;
        }
        outcome = { landed: true, record: landed };
      }
      if (outcome.landed) {
        if (!this.isHeld) break;
        this.record = outcome.record;
        this.trustUntil(first, leaseMs);
        return;
      }
      const current = outcome.current;
      const own = ownWrite(current, nonce);
      if (own) {
        // An earlier send of this renewal landed; the SDK's resend found it. As for one that
        // landed outright: past the deadline it no longer counts, and the lease is handed back.
        if (!this.isHeld) break;
        this.record = own;
        this.trustUntil(first, leaseMs);
        return;
      }
      if (current && this.isMine(current)) {
        // Still ours, but the stored expiry is later than ours (the wall clock stepped back):
        // write the stored expiry again rather than shorten what others were promised.
        minExpiresAt = current.expiresAt;
        continue;
      }
      this.lose('taken', current && snapshot(current));
      throw this.signal.reason;
    }
    // The deadline passed while a renewal was in flight: it may still land, so hand the lease
    // back rather than leave it held by nobody's knowledge. In the background: the caller has
    // lost the lease now, and must not wait on a store that may not answer.
    void this.releaseInStore().catch(() => {});
    throw this.signal.reason;
  }

  /** The stored lease if a write carrying `nonce` is what the table shows, by a consistent read. */
  private async storedWrite(nonce: string): Promise<LeaseRecord | undefined> {
    const { store, clock, requestTimeoutMs } = this.runtime;
    const stored = await withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.read(this.name, signal)).catch(() => undefined);
    return ownWrite(stored, nonce);
  }

  private async releaseInStore(): Promise<void> {
    const { store, clock, requestTimeoutMs } = this.runtime;
    const nonce = randomUUID();
    let mayHaveLanded = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const request = { name: this.name, holderId: this.holderId, fencingToken: this.fencingToken, nonce, wallNow: clock.wallNow() };
        await withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.release(request, signal));
        return;
      } catch (error) {
        if (isRetryable(error) && attempt + 1 < RELEASE_ATTEMPTS) {
          mayHaveLanded ||= error.outcomeUnknown;
          await sleep(clock, backoffMs(attempt, clock));
          continue;
        }
        if (!(error instanceof LeaseStoreError)) throw error;
        // A release that may have landed is done if the table no longer shows this lease held.
        if (mayHaveLanded || error.outcomeUnknown) {
          const stored = await withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.read(this.name, signal)).catch(() => null);
          if (stored !== null && !(stored && this.isMine(stored))) return;
        }
        throw new LeaseStoreError(
          `Could not release lease "${this.name}" (fencing token ${this.fencingToken}); it will expire ` +
            `on its own at ${new Date(this.record.expiresAt).toISOString()}. ${error.message}`,
          this.name,
          { outcomeUnknown: mayHaveLanded || error.outcomeUnknown, cause: error },
        );
      }
    }
  }

  private async recordDone(key: string, keep: number): Promise<void> {
    const { store, clock, requestTimeoutMs } = this.runtime;
    const wallNow = clock.wallNow();
    const run = { key, fencingToken: this.fencingToken, doneAt: wallNow };
    const request = {
      name: this.name,
      holderId: this.holderId,
      fencingToken: this.fencingToken,
      nonce: randomUUID(),
      wallNow,
      doneRuns: keptDoneRuns(this.record.doneRuns, run, keep),
    };
    // The record names this token, unique to this holding: it identifies this write in any later
    // state of the item, even after others have acquired and released since.
    const recorded = (record: LeaseRecord | undefined) =>
      record?.doneRuns.some((done) => done.key === key && done.fencingToken === this.fencingToken) === true;
    let mayHaveLanded = false;
    let lastError: LeaseStoreError | undefined;
    for (let attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(clock, backoffMs(attempt - 1, clock));
      let outcome: WriteOutcome;
      try {
        outcome = await withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.releaseDone(request, signal));
      } catch (error) {
        if (!isRetryable(error)) throw error;
        mayHaveLanded ||= error.outcomeUnknown;
        lastError = error;
        continue;
      }
      // Refused: by an earlier send of this write that landed, or because the lease is no longer ours.
      if (outcome.landed || recorded(outcome.current)) return;
      throw new LeaseLostError(this.name, this.fencingToken, 'taken', outcome.current && snapshot(outcome.current));
    }
    // No send got an answer: the table is the only witness of whether one landed.
    const stored = mayHaveLanded
      ? await withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.read(this.name, signal)).catch(() => null)
      : undefined;
    if (stored !== null && recorded(stored)) return;
    throw new LeaseStoreError(
      `Could not record run "${key}" done on lease "${this.name}" (fencing token ${this.fencingToken}); ` +
        `${stored === null ? 'it may have been recorded. ' : 'it stays open for another run. '}` +
        `The lease expires on its own at ${new Date(this.record.expiresAt).toISOString()}. ${lastError?.message}`,
      this.name,
      { outcomeUnknown: stored === null, cause: lastError },
    );
  }

  private isMine(record: LeaseRecord): boolean {
    return record.state === 'held' && record.holderId === this.holderId && record.fencingToken === this.fencingToken;
  }

  private trustUntil(sent: SendTime, leaseMs: number): void {
    const { driftRatio, guardMs } = this.runtime;
    const trustedMs = leaseMs * (1 - driftRatio) - guardMs;
    this.deadline = sent.at + trustedMs;
    this.wallDeadline = sent.wallAt + trustedMs;
    // Without a signal, nobody is waiting to be told: every other way to ask checks the clocks.
    if (this.controller) this.armTimer();
  }

  private armTimer(): void {
    const { clock } = this.runtime;
    this.timer?.cancel();
    // Timers may fire a fraction of a millisecond before the monotonic clock reaches the
    // deadline; re-arm until the clock itself says the deadline has passed. A guard, not work:
    // it must not hold open a process that has finished everything else.
    this.timer = clock.setTimer(
      () => {
        this.checkDeadline();
        if (this.status === 'held') this.armTimer();
      },
      Math.min(Math.ceil(this.deadline - clock.monotonicNow()) + 1, MAX_CHECK_INTERVAL_MS),
      { background: true },
    );
  }

  /** The clocks, not the timer, are the authority: a blocked event loop must not extend a lease. */
  private checkDeadline(): void {
    if (this.status !== 'held') return;
    const { clock } = this.runtime;
    if (clock.monotonicNow() >= this.deadline || clock.wallNow() >= this.wallDeadline) this.lose('expired');
  }

  private lose(reason: LeaseLossReason, current?: HolderSnapshot): void {
    if (this.status !== 'held') return;
    this.status = reason === 'released' ? 'released' : 'lost';
    this.loss = { reason, current };
    this.timer?.cancel();
    this.controller?.abort(this.lostError(this.loss));
  }

  private lostError(loss: NonNullable<Lease['loss']>): LeaseLostError {
    return new LeaseLostError(this.name, this.fencingToken, loss.reason, loss.current);
  }

  private serialized<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** When a write was sent, on both clocks: a lease's trust is measured from it. @internal */
export interface SendTime {
  /** Monotonic ms. */
  readonly at: number;
  /** Wall-clock epoch ms. */
  readonly wallAt: number;
}

/** The holder fields of a stored lease, as errors and events report them. */
export function snapshot(record: LeaseRecord): HolderSnapshot {
  return { holderId: record.holderId, fencingToken: record.fencingToken, expiresAt: record.expiresAt };
}
