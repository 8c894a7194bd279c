/**
 * A session: one lease per live process, renewed by one conditional write, that keeps every lease
 * the process holds through it (ZooKeeper's sessions with ephemeral nodes, etcd's leases attached
 * to many keys). The session lease follows every rule of a lease: a monotonic deadline with its
 * signal, the skew and drift allowances, retries recognised by nonce, and its fencing token,
 * which is the session's generation.
 *
 * @module
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import { sleep } from '../core/clock.js';
import { InvalidArgumentError, LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import type { LeaseClient } from '../core/lease-client.js';
import type { LeaseRecord } from '../core/lease-record.js';
import type { OwnedLease } from '../core/owned-lease.js';
import type { TakeItem } from '../core/owned-lease-store.js';
import { sessionIsDead, sessionSupportOf, takeForSession, type SessionRuntime, type TakeResult } from '../core/session-support.js';
import { withDeadline } from '../core/deadline.js';
import { checkData, checkDurationMs, checkLeaseName, rejectUnknownKeys } from '../core/validate.js';
import { sessionLeaseName, checkGroupName, checkSessionId } from './names.js';

/** Options of {@link Session.open}. */
export interface SessionOptions {
  /** The lease client whose table, clock, holder id and allowances the session uses. */
  readonly leases: LeaseClient;
  /** The group the session belongs to: its members find each other through the table's session index. */
  readonly group: string;
  /**
   * The session's id within the group: its lease is `<group>#session#<id>`. A new session with the
   * id of one that ended without closing waits for that one to lapse. @default a random id
   */
  readonly id?: string;
  /** How long the session lasts unless renewed, in ms. @default 10000 */
  readonly leaseMs?: number;
  /** Time between renewals, in ms. @default a third of `leaseMs` */
  readonly renewEveryMs?: number;
  /** What the session publishes to its group's members (see {@link Session.publish}). @default {} */
  readonly data?: Record<string, unknown>;
  /** How long {@link Session.open} waits for the session lease (held by an earlier session of this id). @default twice `leaseMs` */
  readonly waitMs?: number;
}

/** Options of {@link Session.tryAcquire}. */
export interface SessionAcquireOptions {
  /** A payload stored with the lease. */
  readonly data?: Record<string, unknown>;
}

/** Another session of the group, as the session index shows it and this session's clocks judge it. */
export interface SessionMember {
  /** The member's session lease name. */
  readonly session: string;
  /** Its holder id. */
  readonly holderId: string;
  /** Its generation: the session lease's fencing token. */
  readonly generation: number;
  /** Whether it is alive: held, and not past its expiry and the skew allowance by this session's wall clock. */
  readonly alive: boolean;
  /** Its wall-clock expiry (epoch ms), as it wrote it. */
  readonly expiresAt: number;
  /** Its revision when read: changes with every renewal. */
  readonly revision: string;
  /** What it published. */
  readonly data: Record<string, unknown>;
}

/** Events of a {@link Session}. */
export interface SessionEvents {
  /** The session ended other than by {@link Session.close}: every lease held through it is lost too. */
  lost: [error: LeaseLostError];
  /** A renewal failed but the session still holds (it is retried). */
  error: [error: unknown];
}

const OPTIONS = ['leases', 'group', 'id', 'leaseMs', 'renewEveryMs', 'data', 'waitMs'] as const;

/**
 * One session: open it with {@link Session.open}, take leases through it with
 * {@link Session.tryAcquire}, and {@link Session.close} it to release them all. It renews itself
 * in the background; its {@link Session.signal} (and every owned lease's) aborts the moment it may
 * be lost.
 */
export class Session extends EventEmitter<SessionEvents> {
  /** The session's group. */
  readonly group: string;
  /** The session's id within its group. */
  readonly id: string;
  /** The session's lease name. */
  readonly name: string;
  /** The session's generation: its lease's fencing token. Leases taken through it record it. */
  readonly generation: number;
  /** Aborts the moment the session may be lost (or it is closed): every lease held through it is lost with it. */
  readonly signal: AbortSignal;
  /** How long the session lasts unless renewed, in ms. */
  readonly leaseMs: number;

  private readonly sessionLease: Lease;
  private readonly runtime: SessionRuntime;
  private readonly renewEveryMs: number;
  private readonly held = new Set<OwnedLease>();
  private published: Record<string, unknown>;
  private unpublished: Record<string, unknown> | undefined;
  private closing: Promise<void> | undefined;
  private readonly heartbeat: Promise<void>;

  private constructor(lease: Lease, runtime: SessionRuntime, options: { group: string; id: string; leaseMs: number; renewEveryMs: number; data: Record<string, unknown> }) {
    super();
    this.sessionLease = lease;
    this.runtime = runtime;
    this.group = options.group;
    this.id = options.id;
    this.name = lease.name;
    this.generation = lease.fencingToken;
    this.signal = lease.signal;
    // Every lease held through the session listens to its signal: thousands in a large group.
    setMaxListeners(0, lease.signal);
    this.leaseMs = options.leaseMs;
    this.renewEveryMs = options.renewEveryMs;
    this.published = options.data;
    this.heartbeat = this.renewWhileHeld();
  }

  /**
   * Opens a session: acquires its lease (one conditional write), waiting up to `waitMs` if an
   * earlier session of the same id still holds it, and starts renewing it. Throws
   * {@link InvalidArgumentError} for bad options, `LeaseUnavailableError` when the wait runs out.
   */
  static async open(options: SessionOptions): Promise<Session> {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
    rejectUnknownKeys('options', options, OPTIONS);
    const support = sessionSupportOf(options.leases ?? {});
    if (!support) throw new InvalidArgumentError('leases', 'must be a LeaseClient');
    checkGroupName('group', options.group);
    const id = options.id ?? randomUUID();
    checkSessionId('id', id);
    const leaseMs = options.leaseMs ?? 10_000;
    checkDurationMs('leaseMs', leaseMs, { min: 100 });
    const renewEveryMs = options.renewEveryMs ?? leaseMs / 3;
    checkDurationMs('renewEveryMs', renewEveryMs, { min: 1, max: leaseMs / 2 });
    const data = options.data ?? {};
    checkData(data);
    const waitMs = options.waitMs ?? 2 * leaseMs;
    checkDurationMs('waitMs', waitMs, { min: 0 });
    const name = sessionLeaseName(options.group, id);
    checkLeaseName(name);
    // A missing table, or one without the session index, is a typed error before anything is written.
    await support.verifyTable();
    const lease = await support.acquireSession(name, { leaseMs, data, waitMs }, options.group);
    return new Session(lease, support.runtime, { group: options.group, id, leaseMs, renewEveryMs, data });
  }

  /** The session's own lease: its fencing token is the generation, its `expiresAt` what the group judges it by. */
  get lease(): Lease {
    return this.sessionLease;
  }

  /** Whether the session may still be trusted. */
  get isHeld(): boolean {
    return this.sessionLease.isHeld;
  }

  /** Milliseconds left before the session's deadline; 0 once lost or closed. */
  remainingMs(): number {
    return this.sessionLease.remainingMs();
  }

  /** What the session publishes to its group's members (the latest given to {@link publish}). */
  get data(): Record<string, unknown> {
    return this.unpublished ?? this.published;
  }

  /** The leases held through this session now. */
  owned(): OwnedLease[] {
    return [...this.held].filter((lease) => lease.isHeld);
  }

  /**
   * Takes the lease `name` for this session if it is free (never taken, released, or a plain
   * lease past expiry), or owned by a session that is dead by the contender rule. One conditional
   * write when free; when another session owns it, one read of that session and, if it is dead,
   * one transaction. Returns `undefined` when it is held.
   */
  async tryAcquire(name: string, options: SessionAcquireOptions = {}): Promise<OwnedLease | undefined> {
    checkLeaseName(name);
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
    rejectUnknownKeys('options', options, ['data']);
    if (options.data !== undefined) checkData(options.data);
    if (name === this.name) throw new InvalidArgumentError('name', 'is this session\'s own lease');
    this.sessionLease.assertValid();
    const first = await this.take([{ name, from: undefined }], options.data);
    if (first.taken[0]) return first.taken[0];
    const current = first.refused.has(name) ? (first.refused.get(name) ?? (await this.read(name))) : undefined;
    const owner = current?.state === 'held' ? current.owner : undefined;
    if (!owner || (owner.session === this.name && owner.generation === this.generation)) return undefined;
    const ownerRecord = await this.read(owner.session);
    if (!sessionIsDead(ownerRecord, owner.generation, this.runtime.clock, this.runtime.skewMs)) return undefined;
    const second = await this.take([{ name, from: owner }], options.data);
    return second.taken[0];
  }

  /**
   * Publishes `data` to the group's members: renews the session now with it (one write), and
   * keeps it for every renewal after. Throws the session's `LeaseLostError` if it is lost.
   */
  async publish(data: Record<string, unknown>): Promise<void> {
    checkData(data);
    this.unpublished = data;
    await this.sessionLease.renew({ leaseMs: this.leaseMs, data });
    if (this.unpublished === data) {
      this.published = data;
      this.unpublished = undefined;
    }
  }

  /**
   * The group's sessions as the session index shows them (one eventually consistent Query), this
   * one included, each judged alive or dead by this session's wall clock and skew allowance.
   */
  async members(): Promise<SessionMember[]> {
    const { owned, clock, requestTimeoutMs, skewMs } = this.runtime;
    const sessions = await owned.sessions(this.group, (send) => withDeadline(clock, requestTimeoutMs, undefined, send));
    return sessions.map((record) => ({
      session: record.name,
      holderId: record.holderId,
      generation: record.fencingToken,
      alive: record.state === 'held' && !sessionIsDead(record, record.fencingToken, clock, skewMs),
      expiresAt: record.expiresAt,
      revision: record.revision,
      data: record.data ?? {},
    }));
  }

  /**
   * Ends the session: releases every lease held through it (each conditional on its token), then
   * the session lease itself, so others take them at once instead of waiting for the session to
   * lapse. Idempotent. A lease whose release fails stays held by the session's item until that
   * lapses (the session lease is released last, so that is at once when its own release lands).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const releases = await Promise.allSettled(this.owned().map((lease) => lease.release()));
      await this.sessionLease.release();
      await this.heartbeat;
      const failed = releases.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return this.closing;
  }

  /**
   * @internal Takes many leases at once (for `LeaseGroup`): free ones and dead sessions' ones, in
   * transactions of up to 100 items.
   */
  async take(items: readonly TakeItem[], data?: Record<string, unknown>): Promise<TakeResult> {
    const result = await takeForSession(this.runtime, this.sessionLease, items, data);
    for (const lease of result.taken) {
      this.held.add(lease);
      lease.signal.addEventListener('abort', () => this.held.delete(lease), { once: true });
    }
    return result;
  }

  /**
   * @internal Marks a dead member's session expired, as the reaper would, so it leaves the
   * session index: only if it is dead by this session's clocks, still at the generation read, and
   * still past its expiry when the write lands (a renewal since the read wins).
   */
  async retire(member: SessionMember): Promise<void> {
    const { store, clock, requestTimeoutMs, skewMs } = this.runtime;
    if (member.expiresAt + skewMs >= clock.wallNow()) return;
    const wallNow = clock.wallNow();
    const request = { name: member.session, fencingToken: member.generation, staleBefore: wallNow - skewMs, nonce: randomUUID(), wallNow };
    await withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.markExpired(request, signal));
  }

  /** @internal A consistent read of one item of the table. */
  async read(name: string): Promise<LeaseRecord | undefined> {
    const { store, clock, requestTimeoutMs } = this.runtime;
    return withDeadline(clock, requestTimeoutMs, undefined, (signal) => store.read(name, signal));
  }

  private async renewWhileHeld(): Promise<void> {
    const { clock } = this.runtime;
    while (this.sessionLease.isHeld) {
      try {
        await sleep(clock, this.renewEveryMs, this.signal);
      } catch {
        break;
      }
      const data = this.unpublished;
      try {
        await this.sessionLease.renew({ leaseMs: this.leaseMs, ...(data && { data }) });
        if (data && this.unpublished === data) {
          this.published = data;
          this.unpublished = undefined;
        }
      } catch (error) {
        // Without a listener an `error` event would throw; the session's state is what matters.
        if (!(error instanceof LeaseLostError) && this.listenerCount('error') > 0) this.emit('error', error);
      }
    }
    const reason: unknown = this.signal.reason;
    if (reason instanceof LeaseLostError && reason.reason !== 'released') this.emit('lost', reason);
  }
}
