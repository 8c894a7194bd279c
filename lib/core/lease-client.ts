/**
 * The entry point: acquire leases by name from one lease table.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sleep, systemClock, type Clock } from './clock.js';
import { backoffMs } from './backoff.js';
import { STANDBY_SLOTS, type ElectionLeases, type PeekOptions, type PeekResult, type SingletonLeases, type StandbySlots } from './contracts.js';
import { InvalidArgumentError, LeaseStoreError, LeaseUnavailableError } from './errors.js';
import { Lease, snapshot, type LeaseRuntime, type SendTime } from './lease.js';
import { ownWrite, writeLanded, type LeaseDescription, type LeaseRecord } from './lease-record.js';
import { LeaseStore } from './lease-store.js';
import { OwnedLeaseStore } from './owned-lease-store.js';
import { verifyLeaseTableUnder } from './table.js';
import { SESSION_SUPPORT, type SessionSupport } from './session-support.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, MIN_REQUEST_MS, withDeadline, type Deadline } from './deadline.js';
import { DEFAULT_SKEW_MS } from './defaults.js';
import { isRetryable } from './store-errors.js';
import { MAX_STANDBY_SLOTS } from './schema.js';
import {
  checkData,
  checkDurationMs,
  checkLeaseName,
  checkNonEmptyString,
  checkRatio,
  checkTableName,
  MAX_TIMER_MS,
  rejectUnknownKeys,
} from './validate.js';

// Defined beside the stored record it describes; the client is where callers meet it.
export type { LeaseDescription } from './lease-record.js';

/** Options of {@link LeaseClient}. */
export interface LeaseClientOptions {
  /** The lease table, made by `createLeaseTable` or the `LeaseTable` construct. */
  readonly tableName: string;
  /** The DynamoDB client to send requests with (its region, endpoint and credentials). */
  readonly client: DynamoDBClient;
  /** Who this client acquires as. @default `${hostname}:${pid}:${random}`, unique per client */
  readonly holderId?: string;
  /** Time and randomness; inject a `ManualClock` in tests. @default systemClock */
  readonly clock?: Clock;
  /**
   * The largest difference between any two participants' wall clocks, in ms. A contender takes
   * a held lease only once its wall clock is past `expiresAt + skewMs`. @default 1000
   */
  readonly skewMs?: number;
  /**
   * How far apart two participants' clocks may drift, as a rate: the holder trusts a lease for
   * `leaseMs · (1 − driftRatio)`, and a contender waits `leaseMs · (1 + driftRatio)` on the path
   * that ignores wall clocks. Every participant must use the same value. @default 0.01
   */
  readonly driftRatio?: number;
  /** Extra ms the holder stops trusting its lease before the drift-adjusted deadline. @default 0 */
  readonly guardMs?: number;
  /**
   * The longest any one request may go unanswered, in ms, before it is aborted (its connection
   * closed, not reused) and handled as a write whose outcome is unknown. Requests that serve a
   * lease get less where the lease is short: an acquisition at most half of `leaseMs`, a
   * renewal no longer than the holder's deadline; never less than 250 ms. The SDK client's own
   * timeouts (`requestHandler: { requestTimeout }`) apply as well. @default 2000
   */
  readonly requestTimeoutMs?: number;
}

/** Options of {@link LeaseClient.tryAcquire}. */
export interface AcquireOptions {
  /** How long the lease lasts unless renewed, in ms. */
  readonly leaseMs: number;
  /** A payload stored with the lease (holder address, version, ...). Replaces the previous holder's. */
  readonly data?: Record<string, unknown>;
}

/** Options of {@link LeaseClient.acquire}. */
export interface WaitingAcquireOptions extends AcquireOptions {
  /** How long to wait for the lease before throwing {@link LeaseUnavailableError}. @default 60000 */
  readonly waitMs?: number;
  /** The longest sleep between attempts, so a release is noticed without waiting for expiry. @default 1000 */
  readonly pollMs?: number;
  /**
   * Aborts the wait; the promise rejects with the signal's reason. A lease won by a write that was
   * in flight when the signal aborted is released before the promise rejects.
   */
  readonly signal?: AbortSignal;
}

/** What a failed acquisition learned, so a waiting caller can sleep until the lease can first be taken. */
interface Refusal {
  readonly current: LeaseRecord | undefined;
  readonly takeableInMs: number;
}

/** The revision of a held lease as first seen by this client, for the observed-unchanged path. */
interface Observation {
  readonly revision: string;
  readonly seenAt: number;
  readonly leaseMs: number;
}

/** How many times one acquisition is sent when its outcome stays unknown. */
const ACQUIRE_ATTEMPTS = 4;

const CLIENT_OPTIONS = ['tableName', 'client', 'holderId', 'clock', 'skewMs', 'driftRatio', 'guardMs', 'requestTimeoutMs'] as const;
const ACQUIRE_OPTIONS = ['leaseMs', 'data'] as const;
const WAIT_OPTIONS = [...ACQUIRE_OPTIONS, 'waitMs', 'pollMs', 'signal'] as const;

/**
 * Acquires, describes and (through the {@link Lease} it returns) renews and releases leases in one
 * table. Every acquisition is one conditional write and gets a fencing token larger than any
 * before it for that name.
 */
export class LeaseClient implements ElectionLeases, SingletonLeases {
  /** Who this client acquires as. */
  readonly holderId: string;
  /** The lease table this client reads and writes. */
  readonly tableName: string;
  /** The wall-clock skew allowance, in ms: a contender may take a held lease once past `expiresAt + skewMs`. */
  readonly skewMs: number;
  /** How far apart clocks may drift, as a rate (see {@link LeaseClientOptions.driftRatio}). */
  readonly driftRatio: number;
  /** How many ms before the drift-adjusted deadline its holders stop trusting a lease. */
  readonly guardMs: number;
  /** The longest one request may go unanswered before it is aborted. */
  readonly requestTimeoutMs: number;
  /** The clock this client and its leases run on. */
  readonly clock: Clock;
  private readonly store: LeaseStore;
  private readonly client: DynamoDBClient;
  private readonly runtime: LeaseRuntime;
  private readonly observations = new Map<string, Observation>();

  constructor(options: LeaseClientOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
    rejectUnknownKeys('options', options, CLIENT_OPTIONS);
    checkTableName(options.tableName);
    if (typeof options.client?.send !== 'function') {
      throw new InvalidArgumentError('client', 'must be a DynamoDBClient from @aws-sdk/client-dynamodb');
    }
    this.holderId = options.holderId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    checkNonEmptyString('holderId', this.holderId);
    this.skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
    checkDurationMs('skewMs', this.skewMs);
    this.driftRatio = options.driftRatio ?? 0.01;
    checkRatio('driftRatio', this.driftRatio, 0.5);
    const guardMs = options.guardMs ?? 0;
    checkDurationMs('guardMs', guardMs);
    this.guardMs = guardMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    checkDurationMs('requestTimeoutMs', this.requestTimeoutMs, { min: MIN_REQUEST_MS });
    this.clock = options.clock ?? systemClock;
    this.tableName = options.tableName;
    this.client = options.client;
    this.store = new LeaseStore(options.client, options.tableName);
    this.runtime = { store: this.store, clock: this.clock, driftRatio: this.driftRatio, guardMs, requestTimeoutMs: this.requestTimeoutMs };
  }

  /**
   * Acquires the lease if it can be taken now, in one conditional write: when it is free,
   * released, or expired past the skew allowance. Returns `undefined` when someone else holds it.
   */
  async tryAcquire(name: string, options: AcquireOptions): Promise<Lease | undefined> {
    this.checkAcquire(name, options, ACQUIRE_OPTIONS);
    const result = await this.attempt(name, options);
    return result instanceof Lease ? result : undefined;
  }

  /**
   * Acquires the lease, waiting for it up to `waitMs`. Between attempts it sleeps until the
   * holder's lease can first expire (known from the failed attempt itself), or `pollMs`, with
   * jitter. Throws {@link LeaseUnavailableError} when the wait runs out.
   */
  async acquire(name: string, options: WaitingAcquireOptions): Promise<Lease> {
    this.checkAcquire(name, options, WAIT_OPTIONS);
    return this.waitFor(name, options, undefined);
  }

  /**
   * What a `Session` needs of this client: its runtime, and the acquisition of a session lease
   * (a lease that also enters its group's session index while held). Not public API.
   *
   * @internal
   */
  [SESSION_SUPPORT](): SessionSupport {
    return {
      runtime: { ...this.runtime, owned: new OwnedLeaseStore(this.client, this.tableName), skewMs: this.skewMs, holderId: this.holderId },
      verifyTable: () => this.send(undefined, (signal) => verifyLeaseTableUnder(this.client, this.tableName, { sessions: true }, signal)),
      acquireSession: (name, options, group) => {
        this.checkAcquire(name, options, WAIT_OPTIONS);
        return this.waitFor(name, options, group);
      },
    };
  }

  private async waitFor(name: string, options: WaitingAcquireOptions, sessionGroup: string | undefined): Promise<Lease> {
    const waitMs = options.waitMs ?? 60_000;
    checkDurationMs('waitMs', waitMs, { max: Number.MAX_SAFE_INTEGER });
    const pollMs = options.pollMs ?? 1_000;
    checkDurationMs('pollMs', pollMs, { min: 0, exclusiveMin: true, max: MAX_TIMER_MS });
    const started = this.clock.monotonicNow();
    for (;;) {
      options.signal?.throwIfAborted();
      const result = await this.attempt(name, options, sessionGroup);
      if (result instanceof Lease) {
        // Aborted while the winning write was in flight: the caller has gone, so give it back.
        if (options.signal?.aborted) {
          await result.release().catch(() => {});
          throw options.signal.reason;
        }
        return result;
      }
      const waited = this.clock.monotonicNow() - started;
      const left = waitMs - waited;
      if (left <= 0) throw new LeaseUnavailableError(name, result.current && snapshot(result.current), waited);
      const nextTryInMs = Math.min(result.takeableInMs, pollMs);
      const jitter = this.clock.random() * Math.min(100, nextTryInMs / 10 + 10);
      await sleep(this.clock, Math.min(nextTryInMs + jitter, left), options.signal);
    }
  }

  /** Reads a lease with a strongly consistent read. `undefined` if it was never acquired. */
  async describe(name: string): Promise<LeaseDescription | undefined> {
    checkLeaseName(name);
    const record = await this.send(undefined, (signal) => this.store.read(name, signal));
    return record && this.described(record);
  }

  /**
   * A cheap look at a lease (an eventually consistent read, half a read unit) and how long until
   * this client could first take it: 0 when free, released, or expired by either path. For
   * followers deciding when to try; the conditional write that follows re-checks everything, so
   * a stale answer costs at most a refused write. `consistent: true` reads the latest (a full
   * read unit), e.g. right after losing a race. `timeoutMs` bounds the read below
   * `requestTimeoutMs`; `signal` aborts it.
   */
  async peek(name: string, options: PeekOptions = {}): Promise<PeekResult> {
    checkLeaseName(name);
    rejectUnknownKeys('options', options, ['consistent', 'timeoutMs', 'signal']);
    if (options.timeoutMs !== undefined) checkDurationMs('options.timeoutMs', options.timeoutMs, { min: MIN_REQUEST_MS });
    const timeoutMs = Math.min(options.timeoutMs ?? this.requestTimeoutMs, this.requestTimeoutMs);
    const consistent = options.consistent === true;
    const record = await withDeadline(this.clock, timeoutMs, options.signal, (signal) => this.store.read(name, signal, { consistent }));
    const { takeableInMs } = this.refused(name, record);
    return { lease: record && this.described(record), takeableInMs };
  }

  /**
   * The standby-slot writes, for the elector of this or another installed copy of the package:
   * not public API.
   *
   * @internal
   */
  [STANDBY_SLOTS](): StandbySlots {
    return { claim: (name, slot, untilMs) => this.claimStandby(name, slot, untilMs), release: (name, slot) => this.releaseStandby(name, slot) };
  }

  /**
   * Registers this client in standby slot `slot` of a lease until `untilMs` from now (wall
   * clock), if the slot is free, lapsed or already ours. One conditional write; never changes
   * who holds the lease or its revision. Returns whether it is ours now.
   */
  private async claimStandby(name: string, slot: number, untilMs: number): Promise<boolean> {
    checkLeaseName(name);
    checkSlot(slot);
    checkDurationMs('untilMs', untilMs, { exclusiveMin: true, max: Number.MAX_SAFE_INTEGER });
    const wallNow = this.clock.wallNow();
    return this.send(undefined, (signal) => this.store.claimStandby({ name, slot, holderId: this.holderId, until: wallNow + untilMs, wallNow }, signal));
  }

  /** Gives up standby slot `slot` if this client has it. */
  private async releaseStandby(name: string, slot: number): Promise<void> {
    checkLeaseName(name);
    checkSlot(slot);
    await this.send(undefined, (signal) => this.store.releaseStandby({ name, slot, holderId: this.holderId }, signal));
  }

  /** Every lease in the table, by a paginated Scan: for operators and tools, not hot paths. */
  async *list(): AsyncGenerator<LeaseDescription> {
    const deadline: Deadline = (send) => withDeadline(this.clock, this.requestTimeoutMs, undefined, send);
    for await (const page of this.store.scan(100, deadline)) yield* page.map((record) => this.described(record));
  }

  /**
   * Releases a lease on an operator's word, whoever holds it, provided it still carries
   * `fencingToken` (read it with {@link describe}): a newer holder is never touched. The holder
   * is not told, and believes it holds the lease until its own deadline: only its fencing token,
   * now superseded by the next acquisition, keeps its writes out. Returns whether it was released.
   */
  async revoke(name: string, fencingToken: number): Promise<boolean> {
    checkLeaseName(name);
    if (!Number.isSafeInteger(fencingToken) || fencingToken < 1) {
      throw new InvalidArgumentError('fencingToken', 'must be a positive integer');
    }
    const nonce = randomUUID();
    const outcome = await this.send(undefined, (signal) => this.store.release({ name, fencingToken, nonce, wallNow: this.clock.wallNow() }, signal));
    // A refusal carrying our nonce is our own earlier send of this same write, answered late.
    if (writeLanded(outcome, nonce)) return true;
    const owner = !outcome.landed && outcome.current?.state === 'held' && outcome.current.fencingToken === fencingToken ? outcome.current.owner : undefined;
    if (owner) {
      // Its holder would go on believing for as long as its session lives, not one lease period.
      throw new InvalidArgumentError(
        'name',
        `"${name}" is held through session "${owner.session}", whose holder would not learn of a revoke until that session ends; ` +
          'revoke the session lease instead (its holder then loses every lease it holds through it at its next renewal)',
      );
    }
    return false;
  }

  private described(record: LeaseRecord): LeaseDescription {
    const lapsed = record.state === 'held' && this.clock.wallNow() > record.expiresAt + this.skewMs;
    return { ...record, state: lapsed ? 'expired' : record.state };
  }

  private checkAcquire(name: string, options: AcquireOptions, allowed: readonly string[]): void {
    checkLeaseName(name);
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
    rejectUnknownKeys('options', options, allowed);
    checkDurationMs('leaseMs', options.leaseMs, { min: this.runtime.guardMs, exclusiveMin: true });
    if (options.data !== undefined) checkData(options.data);
  }

  /**
   * One acquisition: sends the conditional write, resending it with the same nonce while its
   * outcome is unknown, and recognises its own landed write by that nonce.
   */
  private async attempt(name: string, options: AcquireOptions, sessionGroup?: string): Promise<Lease | Refusal> {
    const nonce = randomUUID();
    let first: SendTime | undefined;
    let lastError: LeaseStoreError | undefined;
    let mayHaveLanded = false;
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(this.clock, backoffMs(attempt - 1, this.clock));
      const sentAt = this.clock.monotonicNow();
      const wallNow = this.clock.wallNow();
      // The earliest send is the conservative basis: if it is the one that landed, the stored
      // expiry was computed from it.
      first ??= { at: sentAt, wallAt: wallNow };
      const observed = this.observations.get(name);
      const unchangedLongEnough =
        observed !== undefined && sentAt - observed.seenAt > observed.leaseMs * (1 + this.driftRatio);
      try {
        const outcome = await this.send(options.leaseMs, (signal) => this.store.acquire({
          name,
          holderId: this.holderId,
          nonce,
          leaseMs: options.leaseMs,
          expiresAt: wallNow + options.leaseMs,
          wallNow,
          staleBefore: wallNow - this.skewMs,
          unchangedRevision: unchangedLongEnough ? observed.revision : undefined,
          data: options.data,
          sessionGroup,
        }, signal));
        if (outcome.landed) return this.won(outcome.record, first);
        // Refused by our own earlier send of this write, which landed and lost its answer.
        const own = ownWrite(outcome.current, nonce);
        if (own) return this.won(own, first);
        return this.refused(name, outcome.current);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        lastError = error;
        mayHaveLanded ||= error.outcomeUnknown;
      }
    }
    // No send got an answer: the table is the only witness of whether one landed.
    const stored = mayHaveLanded ? await this.send(options.leaseMs, (signal) => this.store.read(name, signal)).catch(() => undefined) : undefined;
    const own = ownWrite(stored, nonce);
    if (own) return this.won(own, first ?? { at: this.clock.monotonicNow(), wallAt: this.clock.wallNow() });
    const unseen = mayHaveLanded ? ` If one landed unseen, the lease lapses by itself within ${options.leaseMs} ms.` : '';
    throw new LeaseStoreError(
      `Could not acquire lease "${name}": ${ACQUIRE_ATTEMPTS} attempts failed (${lastError?.message}).${unseen}`,
      name,
      { outcomeUnknown: mayHaveLanded, cause: lastError, retryable: true },
    );
  }

  /** One request under its deadline: `requestTimeoutMs`, or at most half the lease it serves. */
  private send<T>(leaseMs: number | undefined, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = leaseMs === undefined ? this.requestTimeoutMs : Math.max(MIN_REQUEST_MS, Math.min(this.requestTimeoutMs, leaseMs / 2));
    return withDeadline(this.clock, ms, undefined, request);
  }

  private won(record: LeaseRecord, sent: SendTime): Lease {
    this.observations.delete(record.name);
    return new Lease(this.runtime, record, sent);
  }

  private refused(name: string, current: LeaseRecord | undefined): Refusal {
    // A reaped lease waits out the same bounds as a held one (see the acquire condition).
    if (!current || current.state === 'released') {
      this.observations.delete(name);
      return { current, takeableInMs: 0 };
    }
    if (current.owner && current.state === 'held') {
      // Held through a session: it lasts as long as that session, which neither plain rule can
      // see (no expiry of its own, a revision that stands still). Only its release frees it.
      this.observations.delete(name);
      return { current, takeableInMs: Number.POSITIVE_INFINITY };
    }
    const now = this.clock.monotonicNow();
    let observed = this.observations.get(name);
    if (observed?.revision !== current.revision) {
      // Seen now, so written no later than now: "unchanged for leaseMs" counts from here.
      observed = { revision: current.revision, seenAt: now, leaseMs: current.leaseMs };
      this.observations.set(name, observed);
    }
    const byWallClock = current.expiresAt + this.skewMs - this.clock.wallNow();
    const byObservation = observed.seenAt + observed.leaseMs * (1 + this.driftRatio) - now;
    const boundaryInMs = Math.min(byWallClock, byObservation);
    // Both conditions are strict inequalities: it is takeable one ms past the boundary.
    return { current, takeableInMs: boundaryInMs < 0 ? 0 : boundaryInMs + 1 };
  }
}

function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_STANDBY_SLOTS) {
    throw new InvalidArgumentError('slot', `must be a whole number from 0 to ${MAX_STANDBY_SLOTS - 1}`);
  }
}
