/**
 * One term of leadership, from winning the lease to handing it back. Its signal (the one `lead`
 * is given) aborts before the lease's own when the term ends by choice, so `lead` can finish its
 * writes under a lease that is still held, renewed and fenced.
 *
 * @module
 */
import { sleep, type Clock } from '../core/clock.js';
import { LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';

export class Term {
  /** Aborts on resign or close, or the moment the lease may be lost, whichever comes first. */
  readonly signal: AbortSignal;
  private readonly resigning = new AbortController();
  private settled: Promise<void> = Promise.resolve();

  constructor(readonly lease: Lease) {
    this.signal = AbortSignal.any([lease.signal, this.resigning.signal]);
  }

  /** Whether the term is ending by choice (resign or close) rather than by losing the lease. */
  get resigned(): boolean {
    return this.resigning.signal.aborted;
  }

  /** Runs the leader's work once; {@link stepDown} waits for it. `work` must not reject. */
  start(work: () => Promise<void>): Promise<void> {
    this.settled = Promise.resolve().then(work);
    return this.settled;
  }

  /**
   * Ends the term by choice. Concurrent calls each wait their own `drainMs`; the first to run
   * out releases, and every call resolves once the lease is released.
   */
  async stepDown(clock: Clock, drainMs: number): Promise<void> {
    const { lease } = this;
    // 1. Tell `lead` to stop. Its reason is what a lost lease would give, so a callback that
    //    rethrows it is recognised as stopping on cue. The lease itself stays held.
    this.resigning.abort(new LeaseLostError(lease.name, lease.fencingToken, 'released'));
    // 2. Let `lead` finish, at most drainMs. Renewals go on meanwhile, so nobody else can take
    //    the lease while its last writes land; the wait also ends if the lease is lost anyway.
    await Promise.race([this.settled, sleep(clock, drainMs, lease.signal).catch(() => {})]);
    // 3. Hand the lease over. This aborts the lease's signal, which ends the renewals and, by
    //    cancelling the sleep above, leaves no timer behind.
    await lease.release();
  }
}
