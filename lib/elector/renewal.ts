/**
 * The renew loop a holder runs while it keeps a lease: the elector's leader and the CLI's
 * `acquire --hold` share it, so both renew on the same schedule and stop the same way.
 *
 * @module
 */
import { sleep, type Clock } from '../core/clock.js';
import type { Lease } from '../core/lease.js';

/** Options of {@link renewWhileHeld}. */
export interface RenewalOptions {
  /** The clock the renewals are scheduled and timed on: the lease's client's clock. */
  readonly clock: Clock;
  /** The lease duration each renewal asks for, in ms. */
  readonly leaseMs: number;
  /** The time from one renewal's end to the next one's start, in ms. */
  readonly renewEveryMs: number;
  /** Called after each renewal that succeeded, with its latency (retries included), in ms. */
  readonly onRenewed?: (latencyMs: number) => void;
  /**
   * Called for every failed renewal, a `LeaseLostError` included (after which the loop ends,
   * since the lease is no longer held); any other error is retried at the next tick.
   */
  readonly onFailed?: (error: unknown) => void;
}

/** Renews `lease` every renewEveryMs until it is no longer held (released or lost); resolves then, never rejects. */
export async function renewWhileHeld(lease: Lease, options: RenewalOptions): Promise<void> {
  const { clock, leaseMs, renewEveryMs, onRenewed, onFailed } = options;
  while (lease.isHeld) {
    try {
      await sleep(clock, renewEveryMs, lease.signal);
    } catch {
      return;
    }
    const sentAt = clock.monotonicNow();
    try {
      await lease.renew({ leaseMs });
      onRenewed?.(clock.monotonicNow() - sentAt);
    } catch (error) {
      notify(onFailed, error);
    }
  }
}

/** A callback that throws must not reject the loop, which its caller may not be awaiting yet. */
function notify(onFailed: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    onFailed?.(error);
  } catch {
    // The caller's own reporting failed; the lease's state is what the loop follows.
  }
}

