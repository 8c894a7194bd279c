/**
 * Leader election for long-lived processes (containers, VMs, laptops): campaign, renew on a
 * timer, step down the moment the lease may be lost, resign, and tell who leads.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { sleep } from '../core/clock.js';
import { MIN_REQUEST_MS } from '../core/deadline.js';
import { backoffMs } from '../core/backoff.js';
import { LeaseholdError, type LeaseLossReason, type LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import { isLeaseLostError, type ElectionLeases } from '../core/contracts.js';
import type { LeaseDescription } from '../core/lease-client.js';
import type { ElectionMetrics } from './metrics.js';
import { campaignDecision } from './campaign.js';
import type { ElectorHealth } from './health.js';
import { renewWhileHeld } from './renewal.js';
import { drainMsOf, electorSettings, type LeaderElectorOptions, type ResignOptions } from './options.js';
import { StandbySeat } from './standby-seat.js';
import { Term } from './term.js';

/** What a leader gets each time it is elected. */
export interface Leadership {
  /**
   * The lease this leadership stands on. Its own `signal` aborts only when the lease is lost or
   * released, so writes fenced by it (`fencedWrite`) still land while a resign drains.
   */
  readonly lease: Lease;
  /** The lease's fencing token, for this whole leadership: pass it to every resource `lead` changes. */
  readonly fencingToken: number;
  /**
   * Aborts when this leadership ends: at once on `resign()` or `close()` (while the lease is
   * still held and renewed for up to `drainMs`, so `lead` can finish what it started), or the
   * moment the lease may be lost, or when the work stalls (see `stallMs`). Start no new work once
   * it has aborted. Its reason is a `LeaseLostError` for this fencing token (`reason: 'released'`
   * on resign and close, `'stalled'` when the elector stepped down because the work stalled).
   */
  readonly signal: AbortSignal;
  /**
   * Reports that the work is moving, for the elector's `stallMs`: the stall is counted from the
   * last call. Only reads the clock (no I/O, no timer), so call it at every step. Does nothing
   * without `stallMs`.
   */
  progress(): void;
}

/** Who leads, as last seen. */
export interface LeaderInfo {
  /** The leader's holder id (its `LeaseClient.holderId`). */
  readonly holderId: string;
  /** The leader's fencing token: a new leadership has a larger one, even with the same holder. */
  readonly fencingToken: number;
  /** Whether the leader is this elector. */
  readonly isSelf: boolean;
}

/** The events a {@link LeaderElector} emits. */
export interface LeaderElectorEvents {
  /** This node became leader. */
  elected: [Leadership];
  /**
   * This node stopped leading; fired from the lease's abort, before anyone else can lead. After
   * `resign()` or `close()` that is when the lease is released (after the drain), not when the
   * leadership's signal aborts.
   */
  deposed: [
    {
      /** The fencing token of the leadership that ended. */
      fencingToken: number;
      /**
       * `released` after `resign()`, `close()` or a `lead` that threw; `stalled` when this node
       * stepped down because its work stalled or its event loop lagged; otherwise how the lease
       * was lost.
       */
      reason: LeaseLossReason;
    },
  ];
  /** The leader changed as this node sees it (`undefined`: nobody leads). */
  leader: [LeaderInfo | undefined];
  /**
   * A campaign or renewal failed in a way worth knowing (it is retried), the leader callback
   * threw, or the leader stepped down because its work stalled (a `LeaseLostError` of reason
   * `stalled`, whose `cause` says which bound ran out and by how much). Unlike a plain
   * EventEmitter, an elector with no `error` listener does not crash the process: the error is
   * dropped.
   */
  error: [Error];
}

/** Sit-outs after failing leaderships double from one resign window up to this many windows. */
const MAX_SIT_OUT_WINDOWS = 4;

/**
 * Campaigns for one lease and runs a callback each time it wins. One `run` per elector.
 *
 *   const elector = new LeaderElector({ leases, name: 'scheduler' });
 *   await elector.run(async ({ fencingToken, signal }) => { ... until signal aborts ... });
 */
export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  /** The lease name this elector campaigns for. */
  readonly name: string;
  /** The lease duration of each acquisition and renewal (see {@link LeaderElectorOptions.leaseMs}). */
  readonly leaseMs: number;
  /** How often the leader renews (see {@link LeaderElectorOptions.renewEveryMs}). */
  readonly renewEveryMs: number;
  /** The sit-out after losing the lease involuntarily (see {@link LeaderElectorOptions.lockDelayMs}). */
  readonly lockDelayMs: number;
  /** The longest a close-watching follower sleeps between looks (see {@link LeaderElectorOptions.followerWakeMs}). */
  readonly followerWakeMs: number;
  /**
   * How many followers watch the lease closely (see {@link LeaderElectorOptions.standbys}): 0
   * when `leases` keeps no standby slots.
   */
  readonly standbys: number;
  /** How often a follower that is not a standby looks (see {@link LeaderElectorOptions.idleWakeMs}). */
  readonly idleWakeMs: number;
  /** The longest `lead` may go without reporting progress, if watched (see {@link LeaderElectorOptions.stallMs}). */
  readonly stallMs: number | undefined;
  /** The most the event loop may lag while leading, if watched (see {@link LeaderElectorOptions.maxEventLoopLagMs}). */
  readonly maxEventLoopLagMs: number | undefined;
  private readonly leases: ElectionLeases;
  private readonly data: Record<string, unknown> | undefined;
  private readonly metrics: ElectionMetrics;
  private readonly closing = new AbortController();
  private readonly closed = new Promise<void>((resolve) => this.closing.signal.addEventListener('abort', () => resolve(), { once: true }));
  private term: Term | undefined;
  private known: LeaderInfo | undefined;
  private leaderlessSince: number | undefined;
  private campaignAfter = 0;
  /** Leaderships in a row whose `lead` threw while it still led. */
  private failedTerms = 0;
  private running = false;
  /** Settles when the current `run` has stopped campaigning and leading. */
  private stopped: Promise<void> = Promise.resolve();
  private readonly seat: StandbySeat;

  constructor(options: LeaderElectorOptions) {
    super();
    const settings = electorSettings(options);
    this.leases = settings.leases;
    this.name = settings.name;
    this.leaseMs = settings.leaseMs;
    this.renewEveryMs = settings.renewEveryMs;
    this.lockDelayMs = settings.lockDelayMs;
    this.followerWakeMs = settings.followerWakeMs;
    this.idleWakeMs = settings.idleWakeMs;
    this.stallMs = settings.stallMs;
    this.maxEventLoopLagMs = settings.maxEventLoopLagMs;
    this.data = settings.data;
    this.metrics = settings.metrics;
    this.seat = new StandbySeat(this.leases, this.name, settings.standbys, this.leaseMs);
    this.standbys = this.seat.slots;
  }

  /**
   * Whether this node holds the leader's lease right now (by its own monotonic clock). Stays
   * true while a resign drains: the lease is held until `lead` settles or `drainMs` runs out.
   * No I/O.
   */
  get isLeader(): boolean {
    return this.term?.lease.isHeld === true;
  }

  /**
   * This node's health, for a container health check ({@link healthListener}) or a log line: its
   * state, the current leadership's election and last renewal (wall-clock epoch ms), how far its
   * renewals are behind, and whether its work is wedged. No I/O.
   */
  health(): ElectorHealth {
    const term = this.term;
    const stalled = term?.stalled ?? false;
    if (term && this.isLeader) {
      return {
        state: 'leader',
        fencingToken: term.lease.fencingToken,
        leaderSince: term.electedAtWall,
        ...(term.lastRenewAt !== undefined && { lastRenewAt: term.lastRenewAt }),
        renewFailures: term.renewFailures(this.renewEveryMs),
        stalled,
      };
    }
    return { state: this.running && !this.closing.signal.aborted ? 'follower' : 'stopped', renewFailures: 0, stalled };
  }

  /** Who leads, as last seen by this node. No I/O. */
  leader(): LeaderInfo | undefined {
    return this.isLeader ? this.selfInfo(this.term!.lease) : this.known?.isSelf ? undefined : this.known;
  }

  /**
   * Campaigns until {@link close}, calling `lead` each time this node wins. Waits for `lead` to
   * return before campaigning again, so two of its calls never overlap. If `lead` throws while
   * it still leads, the node resigns, reports the error, and sits out the next election: one
   * resign window (1.5 × `followerWakeMs`), doubling with each such failure in a row up to four
   * windows, so a healthy follower takes over and a callback that fails at once is not re-elected
   * in a tight loop. A `lead` that returns while it still leads does not give up the lease: the
   * node stays leader, renewing, until {@link resign}, {@link close} or the lease is lost, as an
   * etcd election does; to hand over when its work is done, call `resign()` from it without
   * awaiting (or with `drainMs: 0`).
   */
  async run(lead: (leadership: Leadership) => Promise<void>): Promise<void> {
    if (this.running) throw new LeaseholdError(`LeaderElector for "${this.name}" is already running`);
    this.running = true;
    const loop = this.loop(lead);
    this.stopped = loop;
    try {
      await loop;
    } finally {
      this.running = false;
    }
  }

  /**
   * Gives up leadership: aborts the leadership's signal at once, lets `lead` finish for up to
   * `drainMs` (see {@link ResignOptions}), then releases the lease with one write and stays out
   * of the next election for one follower wake-up so another node takes over. Resolves once the
   * lease is released. Inside `lead`, which it waits for, call it without awaiting, or pass
   * `drainMs: 0`.
   */
  async resign(options: ResignOptions = {}): Promise<void> {
    const drainMs = drainMsOf(options, this.leaseMs);
    await this.term?.stepDown(drainMs);
  }

  /**
   * Stops campaigning, resigns (with the same drain as {@link resign}) if leading, and frees its
   * standby slot. Resolves once `run` has stopped: a lease won by an acquisition already in
   * flight is released at once, without `elected` and without calling `lead`, and a `lead`
   * still running when the drain runs out is no longer waited for; nor, at all, once the lease
   * is already lost (the drain ends with it). Its fenced writes are refused from then on, but a
   * write of its own to anything else may still be in flight: a process that exits right after
   * `close()` can cut it off half-sent, so wait for `lead` itself when that matters. Inside
   * `lead`, pass `drainMs: 0`: the drain would wait for the very callback that awaits it.
   */
  async close(options: ResignOptions = {}): Promise<void> {
    const drainMs = drainMsOf(options, this.leaseMs);
    this.closing.abort(new LeaseholdError(`LeaderElector for "${this.name}" closed`));
    try {
      await this.term?.stepDown(drainMs);
    } finally {
      // A campaign in flight may still win a lease or claim a slot: wait for it, then give the slot back.
      await this.stopped;
      await this.seat.leave();
    }
  }

  private async loop(lead: (leadership: Leadership) => Promise<void>): Promise<void> {
    for (;;) {
      const lease = await this.campaign();
      if (!lease) return;
      // close() may have begun while the acquisition was in flight: a closing elector never leads.
      if (this.closing.signal.aborted) {
        await lease.release().catch((error: unknown) => this.report(error));
        return;
      }
      await this.lead(lease, lead);
    }
  }

  private async campaign(): Promise<Lease | undefined> {
    const { clock } = this.leases;
    const started = clock.monotonicNow();
    let lostRace = false;
    for (let failures = 0; !this.closing.signal.aborted; ) {
      try {
        const wait = this.campaignAfter - clock.monotonicNow();
        if (wait > 0) await sleep(clock, wait, this.closing.signal);
        // After a lost race an eventually consistent read may still show the lease free.
        // A look that goes unanswered (a connection dropped in silence) must not keep this node
        // out of the election: half a lease, then look again on a new connection.
        const { lease: current, takeableInMs } = await this.leases.peek(this.name, {
          consistent: lostRace,
          timeoutMs: Math.max(MIN_REQUEST_MS, this.leaseMs / 2),
        });
        this.saw(current);
        lostRace = false;
        let watchesClosely = false;
        if (takeableInMs > 0) {
          failures = 0;
          // Asked only when the lease cannot be taken now: it may claim or refresh a standby slot, a write.
          watchesClosely = await this.seat.watchesClosely(current);
        }
        const next = campaignDecision({ takeableInMs, watchesClosely }, this, clock);
        if (next.action === 'sleep') {
          await sleep(clock, next.ms, this.closing.signal);
          continue;
        }
        const lease = await this.leases.tryAcquire(this.name, { leaseMs: this.leaseMs, ...(this.data && { data: this.data }) });
        if (lease) {
          this.metrics.duration('TimeToElectMs', clock.monotonicNow() - started);
          await this.seat.leave();
          return lease;
        }
        lostRace = true;
      } catch (error) {
        if (this.closing.signal.aborted) break;
        this.report(error);
        await sleep(clock, Math.min(backoffMs(failures++, clock) * 4, this.followerWakeMs), this.closing.signal).catch(() => {});
      }
    }
    return undefined;
  }

  private async lead(lease: Lease, lead: (leadership: Leadership) => Promise<void>): Promise<void> {
    const term = new Term(lease, this.leases.clock, this, (stall) => this.stepDownStalled(term, stall));
    this.term = term;
    const leadership: Leadership = { lease, fencingToken: lease.fencingToken, signal: term.signal, progress: () => term.progress() };
    const ended = new Promise<void>((resolve) => {
      lease.signal.addEventListener(
        'abort',
        () => {
          const reason = isLeaseLostError(lease.signal.reason) ? lease.signal.reason.reason : 'expired';
          if (reason !== 'released') this.standAside(this.lockDelayMs);
          // Counted from the lease's end, not from resign(): a long drain must not use up the
          // time the followers need to notice the release.
          if (term.resigned) this.standAside(this.resignWindowMs);
          this.metrics.count('LeadershipLost');
          this.emit('deposed', { fencingToken: lease.fencingToken, reason: term.stalledBy ? 'stalled' : reason });
          resolve();
        },
        { once: true },
      );
    });
    this.metrics.count('LeadershipAcquired');
    this.saw(undefined, this.selfInfo(lease));
    this.emit('elected', leadership);
    const electedAt = this.leases.clock.monotonicNow();
    const renewing = this.renewWhileHeld(term);
    const working = term.start(async () => {
      try {
        await lead(leadership);
        this.failedTerms = 0;
      } catch (error) {
        // A callback that stops because its leadership ended (rethrowing the signal's reason, or
        // its lease's loss) is doing the right thing.
        const endedThisTerm = isLeaseLostError(error) && error.fencingToken === lease.fencingToken;
        if (!endedThisTerm) this.report(error);
        if (term.signal.aborted) this.failedTerms = 0;
        else this.sitOutAfterFailure(this.leases.clock.monotonicNow() - electedAt);
        await lease.release().catch(() => {});
      }
    });
    await ended;
    // After close() a `lead` still running is not waited for: the drain has cut it off, and it
    // may be the one awaiting close().
    await Promise.all([renewing, Promise.race([working, this.closed])]);
    this.term = undefined;
  }

  /** How long a node that gave the lease up stays out, so a follower waking every followerWakeMs gets it. */
  private get resignWindowMs(): number {
    return this.followerWakeMs * 1.5;
  }

  /**
   * After a `lead` that threw while it still led (one that fails at once would otherwise be
   * re-elected in a tight loop): one resign window, doubling with each such leadership in a
   * row, up to MAX_SIT_OUT_WINDOWS. One that lasted longer than that was no tight loop.
   */
  private sitOutAfterFailure(lastedMs: number): void {
    const longestMs = this.resignWindowMs * MAX_SIT_OUT_WINDOWS;
    this.failedTerms = lastedMs >= longestMs ? 1 : this.failedTerms + 1;
    this.standAside(Math.min(this.resignWindowMs * 2 ** (this.failedTerms - 1), longestMs));
  }

  /**
   * The work stalled: stop renewing and hand over at once, with no drain (a wedged `lead` would
   * only use it up). The lease is released in this turn, so `deposed` has fired on return.
   */
  private stepDownStalled(term: Term, stall: LeaseLostError): void {
    this.metrics.count('LeadershipStalled');
    this.report(stall);
    term.stepDown(0, stall).catch((error: unknown) => this.report(error));
  }

  /** Keeps this node out of elections for at least `ms` from now. */
  private standAside(ms: number): void {
    this.campaignAfter = Math.max(this.campaignAfter, this.leases.clock.monotonicNow() + ms);
  }

  private renewWhileHeld(term: Term): Promise<void> {
    return renewWhileHeld(term.lease, {
      clock: this.leases.clock,
      leaseMs: this.leaseMs,
      renewEveryMs: this.renewEveryMs,
      onRenewed: (latencyMs) => {
        term.renewed();
        this.metrics.duration('RenewLatencyMs', latencyMs);
      },
      onFailed: (error) => {
        this.metrics.count('RenewFailed');
        // A lost lease has already aborted its signal; anything else is retried next tick.
        if (!isLeaseLostError(error)) this.report(error);
      },
    });
  }

  /** Node's EventEmitter throws an `error` nobody listens to; a background failure must not crash the host. */
  private report(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  private selfInfo(lease: Lease): LeaderInfo {
    return { holderId: lease.holderId, fencingToken: lease.fencingToken, isSelf: true };
  }

  /** Records who leads as seen now, emitting `leader` on a change and timing leaderless spells. */
  private saw(current: LeaseDescription | undefined, self?: LeaderInfo): void {
    const now = this.leases.clock.monotonicNow();
    const held = current?.state === 'held';
    const info: LeaderInfo | undefined =
      self ?? (held ? { holderId: current.holderId, fencingToken: current.fencingToken, isSelf: current.holderId === this.leases.holderId } : undefined);
    if (!info) this.leaderlessSince ??= now;
    else if (this.leaderlessSince !== undefined) {
      this.metrics.duration('LeaderlessMs', now - this.leaderlessSince);
      this.leaderlessSince = undefined;
    }
    if (info?.holderId === this.known?.holderId && info?.fencingToken === this.known?.fencingToken) return;
    this.known = info;
    this.emit('leader', info);
  }
}
