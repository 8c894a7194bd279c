/**
 * Watches a leader for the two ways its work can wedge while its renew timer still fires: `lead`
 * no longer reporting progress, and the event loop lagging. Renewing on a timer whatever the
 * work does is the background heartbeat the AWS Builders' Library warns about (KCL workers kept
 * their leases while stuck); this is what lets the elector step down instead.
 *
 * Both checks run on the injected clock's monotonic time and timers, so a `ManualClock` test sees
 * the step-down at exactly the moment it is due. That is why lag is a late timer of that clock
 * rather than `perf_hooks.monitorEventLoopDelay`: on the system clock it is the same measurement
 * (a `setTimeout` fired late), and it needs no histogram to read and reset.
 *
 *   progress:  election ── progress() ── progress() ─────── stallMs ──┤ stall
 *              (one timer, re-armed for lastProgress + stallMs each time it fires early)
 *   lag:       armed for now + sample ─ ─ ─ ─ fired late by L ──┤ stall if L > maxEventLoopLagMs
 *
 * @module
 */
import type { Clock, TimerHandle } from '../core/clock.js';

/** How many lag samples per `maxEventLoopLagMs`: a block of 1.25 × the bound is always seen. */
const LAG_SAMPLES_PER_BOUND = 4;

/** What to watch; an unset bound is not watched. */
export interface StallBounds {
  /** The longest `lead` may go without calling `progress()`, in ms. */
  readonly stallMs: number | undefined;
  /** The most a timer may fire late, in ms. */
  readonly maxEventLoopLagMs: number | undefined;
}

export class StallWatch {
  private lastProgress: number;
  private progressTimer: TimerHandle | undefined;
  private lagTimer: TimerHandle | undefined;
  private stopped = false;

  /** Starts watching now (the election); `onStall` is called at most once, with why. */
  constructor(
    private readonly clock: Clock,
    private readonly bounds: StallBounds,
    private readonly onStall: (why: string) => void,
  ) {
    this.lastProgress = clock.monotonicNow();
    if (bounds.stallMs !== undefined) this.armProgress(bounds.stallMs, bounds.stallMs);
    if (bounds.maxEventLoopLagMs !== undefined) this.armLag(bounds.maxEventLoopLagMs);
  }

  /** The work moved: the stall is counted from now. Only reads the clock, so it can be called often. */
  progress(): void {
    this.lastProgress = this.clock.monotonicNow();
  }

  /** Stops the progress check only: once `lead` has returned there is no work left to stall. */
  stopProgress(): void {
    this.progressTimer?.cancel();
    this.progressTimer = undefined;
  }

  /** Stops every check: the leadership is ending anyway. */
  stop(): void {
    this.stopped = true;
    this.stopProgress();
    this.lagTimer?.cancel();
  }

  // Background timers: a watchdog must never be what keeps a process alive.
  private armProgress(stallMs: number, delayMs: number): void {
    this.progressTimer = this.clock.setTimer(
      () => {
        const idleMs = this.clock.monotonicNow() - this.lastProgress;
        if (idleMs < stallMs) this.armProgress(stallMs, stallMs - idleMs);
        else this.stall(`lead reported no progress for ${Math.round(idleMs)} ms (stallMs ${stallMs})`);
      },
      delayMs,
      { background: true },
    );
  }

  private armLag(maxLagMs: number): void {
    const sampleMs = maxLagMs / LAG_SAMPLES_PER_BOUND;
    const due = this.clock.monotonicNow() + sampleMs;
    this.lagTimer = this.clock.setTimer(
      () => {
        const lagMs = this.clock.monotonicNow() - due;
        if (lagMs > maxLagMs) this.stall(`the event loop lagged ${Math.round(lagMs)} ms (maxEventLoopLagMs ${maxLagMs})`);
        else if (!this.stopped) this.armLag(maxLagMs);
      },
      sampleMs,
      { background: true },
    );
  }

  private stall(why: string): void {
    if (this.stopped) return;
    this.stop();
    this.onStall(why);
  }
}
