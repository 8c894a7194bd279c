/**
 * A lease held through a session: it has no deadline of its own, and its holder trusts it exactly
 * as long as the session lease it was taken with (same generation), until it is released or
 * found taken. Its fencing token grows per lease name, as every lease's does, so `fencedWrite` and
 * `fencingCondition` work on it unchanged.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { sleep, type Clock } from './clock.js';
import { backoffMs } from './backoff.js';
import { LeaseLostError, LeaseStoreError, type HolderSnapshot, type LeaseLossReason } from './errors.js';
import { sendFencedWrite } from './fencing.js';
import type { Lease } from './lease.js';
import type { LeaseRecord, SessionOwner } from './lease-record.js';
import type { LeaseStore } from './lease-store.js';
import type { OwnedLeaseStore } from './owned-lease-store.js';
import { isRetryable } from './store-errors.js';
import { withDeadline } from './deadline.js';

/** What an {@link OwnedLease} needs from the session that took it. @internal */
export interface OwnedLeaseRuntime {
  readonly store: LeaseStore;
  readonly owned: OwnedLeaseStore;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
}

/** How many times a release is sent while it fails retryably. */
const RELEASE_ATTEMPTS = 5;

/**
 * A lease this process holds through a `Session`. Trust it only while {@link OwnedLease.signal}
 * has not aborted; pass {@link OwnedLease.fencingToken} to every resource you change.
 */
export class OwnedLease implements AsyncDisposable {
  /** The lease name. */
  readonly name: string;
  /** Who holds it: the session's holder id. */
  readonly holderId: string;
  /** Grows by at least one with every acquisition of this name, by anyone, forever. */
  readonly fencingToken: number;
  /** The session it is held through, and that session's generation. */
  readonly owner: SessionOwner;
  /**
   * Aborts the moment this holder may no longer hold the lease: released, found taken, or its
   * session's deadline passed. `reason` is a {@link LeaseLostError} naming this lease.
   */
  readonly signal: AbortSignal;

  private readonly runtime: OwnedLeaseRuntime;
  private readonly session: Lease;
  private readonly controller = new AbortController();
  private record: LeaseRecord;
  private releasing: Promise<void> | undefined;
  private readonly fencedInFlight = new Set<Promise<unknown>>();
  private readonly onSessionLost = () => this.lose(sessionLossReason(this.session));

  /** @internal Owned leases come from `Session.tryAcquire` and `LeaseGroup`. */
  constructor(runtime: OwnedLeaseRuntime, session: Lease, record: LeaseRecord) {
    this.runtime = runtime;
    this.session = session;
    this.record = record;
    this.name = record.name;
    this.holderId = record.holderId;
    this.fencingToken = record.fencingToken;
    this.owner = { session: session.name, generation: session.fencingToken };
    this.signal = this.controller.signal;
    if (session.signal.aborted) this.onSessionLost();
    else session.signal.addEventListener('abort', this.onSessionLost, { once: true });
  }

  /** The payload stored with the lease at its acquisition. */
  get data(): Record<string, unknown> | undefined {
    return this.record.data;
  }

  /**
   * The monotonic deadline until which this holder may trust the lease: its session's (see
   * `Lease.validUntil`), which moves later with each of the session's renewals.
   */
  get validUntil(): number {
    return this.session.validUntil;
  }

  /** Whether this holder may still act on the lease: not released or found taken, and its session still trusted. */
  get isHeld(): boolean {
    if (!this.signal.aborted && !this.session.isHeld) this.onSessionLost();
    return !this.signal.aborted;
  }

  /** Milliseconds left before the session's deadline; 0 once lost or released. */
  remainingMs(): number {
    return this.isHeld ? this.session.remainingMs() : 0;
  }

  /** Throws the {@link LeaseLostError} if the lease may no longer be held. Call before acting. */
  assertValid(): void {
    if (!this.isHeld) throw this.signal.reason;
  }

  /**
   * Stops believing at once, then marks the lease released in the table (conditional on this
   * fencing token, so a newer holder is never touched) so another session can take it without
   * waiting for this session to end. Idempotent.
   */
  release(): Promise<void> {
    this.lose('released');
    this.releasing ??= this.releaseInStore();
    return this.releasing;
  }

  /** Releases the lease: `await using lease = await session.tryAcquire(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /**
   * @internal Use `fencedWrite`. Sends `items` with a check that this lease is still held at its
   * token, resending a write cancelled by a transaction conflict (nothing was written) with
   * back-off while the lease is held.
   */
  async writeFenced(items: NonNullable<TransactWriteCommandInput['TransactItems']>, signal: AbortSignal = this.signal): Promise<void> {
    await sendFencedWrite(this.runtime, this, items, signal, this.fencedInFlight);
  }

  /** @internal The session learned that the store no longer shows this lease as its own. */
  lose(reason: LeaseLossReason, current?: HolderSnapshot): void {
    if (this.signal.aborted) return;
    this.session.signal.removeEventListener('abort', this.onSessionLost);
    this.controller.abort(new LeaseLostError(this.name, this.fencingToken, reason, current));
  }

  private async releaseInStore(): Promise<void> {
    const { owned, clock, requestTimeoutMs } = this.runtime;
    // A fenced write in flight on this item would make DynamoDB refuse the release.
    if (this.fencedInFlight.size > 0) await Promise.allSettled(this.fencedInFlight);
    const request = { name: this.name, holderId: this.holderId, fencingToken: this.fencingToken, nonce: randomUUID(), wallNow: clock.wallNow() };
    for (let attempt = 0; ; attempt++) {
      try {
        await withDeadline(clock, requestTimeoutMs, undefined, (signal) => owned.release(request, signal));
        return;
      } catch (error) {
        if (!isRetryable(error) || attempt + 1 >= RELEASE_ATTEMPTS) {
          if (!(error instanceof LeaseStoreError)) throw error;
          throw new LeaseStoreError(
            `Could not release lease "${this.name}" (fencing token ${this.fencingToken}); it stays held until its session ends. ${error.message}`,
            this.name,
            { outcomeUnknown: error.outcomeUnknown, cause: error },
          );
        }
        await sleep(clock, backoffMs(attempt, clock));
      }
    }
  }
}

/** Why a session's leases are lost when the session is: its own loss reason, or `expired`. */
function sessionLossReason(session: Lease): LeaseLossReason {
  const reason: unknown = session.signal.reason;
  return reason instanceof LeaseLostError ? reason.reason : 'expired';
}
