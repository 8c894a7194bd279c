/**
 * Time and randomness, injected. Two clocks are never mixed up: the monotonic clock decides
 * whether a holder may still act; the wall clock only writes and judges `expiresAt`.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';

/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  /** Keeps the callback from running. Does nothing once it has run or been cancelled. */
  cancel(): void;
}

/** The source of time and randomness for leases and electors. */
export interface Clock {
  /** Milliseconds on a clock that never jumps (arbitrary origin). */
  monotonicNow(): number;
  /** Milliseconds since the Unix epoch, as the host's wall clock says. */
  wallNow(): number;
  /** A number in [0, 1), for jitter. */
  random(): number;
  /**
   * Runs `callback` once after `delayMs` on the monotonic clock. A `background` timer (a lease's
   * deadline guard) must not keep the process alive; others (a wait the caller awaits) must.
   */
  setTimer(callback: () => void, delayMs: number, options?: { background?: boolean }): TimerHandle;
}

/** The host's clocks: `performance.now()`, `Date.now()` and `Math.random()`. */
export const systemClock: Clock = {
  monotonicNow: () => performance.now(),
  wallNow: () => Date.now(),
  random: () => Math.random(),
  setTimer(callback, delayMs, options) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    if (options?.background) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * Resolves when `work` settles (however it settles) or after `ms` on `clock`, whichever comes
 * first, leaving `work` to finish unawaited. Never rejects.
 */
export function settledOrAfter(clock: Clock, work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(resolve, ms);
    const done = () => {
      timer.cancel();
      resolve();
    };
    work.then(done, done);
  });
}

/**
 * Resolves after `delayMs` on `clock`, or rejects with the signal's reason when it aborts first.
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A clock that moves only when told to, for deterministic tests of expiry. `advance` runs due
 * timers in deadline order; `wallOffsetMs` skews its wall clock against the monotonic one.
 */
export class ManualClock implements Clock {
  private mono: number;
  private wallAtZero: number;
  private readonly timers: { at: number; seq: number; callback: () => void }[] = [];
  private seq = 0;
  private readonly randomValues: () => number;

  constructor(options: { monotonicStart?: number; wallStart?: number; random?: () => number } = {}) {
    this.mono = options.monotonicStart ?? 1_000;
    this.wallAtZero = (options.wallStart ?? Date.UTC(2026, 0, 1)) - this.mono;
    this.randomValues = options.random ?? (() => 0.5);
  }

  monotonicNow(): number {
    return this.mono;
  }

  wallNow(): number {
    return this.wallAtZero + this.mono;
  }

  random(): number {
    return this.randomValues();
  }

  /** Moves this clock's wall time by `deltaMs` without moving its monotonic time (a clock step). */
  stepWall(deltaMs: number): void {
    this.wallAtZero += deltaMs;
  }

  /** Keeping a process alive means nothing to a clock that only moves when told: `options` is ignored. */
  setTimer(callback: () => void, delayMs: number, _options?: { background?: boolean }): TimerHandle {
    const timer = { at: this.mono + Math.max(0, delayMs), seq: this.seq++, callback };
    this.timers.push(timer);
    return {
      cancel: () => {
        const index = this.timers.indexOf(timer);
        if (index >= 0) this.timers.splice(index, 1);
      },
    };
  }

  /** Moves time forward by `ms`, running each timer that falls due, in order, at its own time. */
  async advance(ms: number): Promise<void> {
    const target = this.mono + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.mono = Math.max(this.mono, next.at);
      next.callback();
      // Let promise continuations triggered by the timer run before time moves on.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.mono = target;
  }
}
