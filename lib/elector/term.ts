/**
 * One term of leadership, from winning the lease to handing it back. Its signal (the one `lead`
 * is given) aborts before the lease's own when the term ends by choice, so `lead` can finish its
 * writes under a lease that is still held, renewed and fenced. It also watches the work for
 * stalls (when asked) and keeps what `health()` reports of the term.
 *
 * @module
 */
import { sleep, type Clock } from '../core/clock.js';
import { LeaseholdError, LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import { StallWatch, type StallBounds } from './stall-watch.js';

export class Term {
  /** Aborts on resign or close, or the moment the lease may be lost, whichever comes first. */
  readonly signal: AbortSignal;
  /** Wall-clock epoch ms of the election. */
  readonly electedAtWall: number;
  /** Wall-clock epoch ms of the last renewal that landed; undefined before the first. */
  lastRenewAt: number | undefined;
  /** Why the term stepped down on its own, if its work stalled. */
  stalledBy: LeaseLostError | undefined;
  /** Monotonic ms the lease was last extended: the election, then each renewal that landed. */
  private extendedAt: number;
  private readonly resigning = new AbortController();
  private readonly watch: StallWatch;
  private settled: Promise<void> = Promise.resolve();
  private working = false;

  /** Starts the term now; `onStall` hears of a stall once, after the term has marked itself stalled. */
  constructor(
    readonly lease: Lease,
    private readonly clock: Clock,
    bounds: StallBounds,
    onStall: (error: LeaseLostError) => void,
  ) {
    this.signal = AbortSignal.any([lease.signal, this.resigning.signal]);
    this.electedAtWall = clock.wallNow();
    this.extendedAt = clock.monotonicNow();
    this.watch = new StallWatch(clock, bounds, (why) => {
      // A lease already lost (isHeld also checks the deadline) or a step-down already begun
      // ends the term anyway, for its own reason.
      if (this.signal.aborted || !lease.isHeld) return;
      this.stalledBy = new LeaseLostError(lease.name, lease.fencingToken, 'stalled', undefined, { cause: new LeaseholdError(why) });
      onStall(this.stalledBy);
    });
    this.signal.addEventListener('abort', () => this.watch.stop(), { once: true });
  }

  /** Whether the term is ending by choice (resign, close or a stall) rather than by losing the lease. */
  get resigned(): boolean {
    return this.resigning.signal.aborted;
  }

  /** Stepped down because its work stalled, and `lead` has not settled since: the work is still wedged. */
  get stalled(): boolean {
    return this.stalledBy !== undefined && this.working;
  }

  /**
   * Scheduled renewals in a row that have not landed: one for each `renewEveryMs` past the first
   * since the lease was last extended (the loop sleeps `renewEveryMs` after each landing, then
   * renews, retrying until the deadline, or sleeps again after an outright failure).
   */
  renewFailures(renewEveryMs: number): number {
    return Math.max(0, Math.floor((this.clock.monotonicNow() - this.extendedAt) / renewEveryMs) - 1);
  }

  /** A renewal landed. */
  renewed(): void {
    this.extendedAt = this.clock.monotonicNow();
    this.lastRenewAt = this.clock.wallNow();
  }

  /** The work moved (`leadership.progress()`). */
  progress(): void {
    this.watch.progress();
  }

  /** Runs the leader's work once; {@link stepDown} waits for it. `work` must not reject. */
  start(work: () => Promise<void>): Promise<void> {
    this.working = true;
    this.settled = Promise.resolve()
      .then(work)
      .finally(() => {
        this.working = false;
        this.watch.stopProgress();
      });
    return this.settled;
  }

  /**
   * Ends the term by choice. Concurrent calls each wait their own `drainMs`; the first to run
   * out releases, and every call resolves once the lease is released. `reason` is what the
   * term's signal aborts with: released, or stalled.
   */
  async stepDown(drainMs: number, reason = new LeaseLostError(this.lease.name, this.lease.fencingToken, 'released')): Promise<void> {
    const { lease } = this;
    // 1. Tell `lead` to stop. Its reason is what a lost lease would give, so a callback that
    //    rethrows it is recognised as stopping on cue. The lease itself stays held.
    this.resigning.abort(reason);
    // 2. Let `lead` finish, at most drainMs. Renewals go on meanwhile, so nobody else can take
    //    the lease while its last writes land; the wait also ends if the lease is lost anyway.
    //    With no drain, nothing waits: the lease is released in this same turn.
    if (drainMs > 0) await Promise.race([this.settled, sleep(this.clock, drainMs, lease.signal).catch(() => {})]);
    // 3. Hand the lease over. This aborts the lease's signal, which ends the renewals and, by
    //    cancelling the sleep above, leaves no timer behind.
    await lease.release();
  }
}
