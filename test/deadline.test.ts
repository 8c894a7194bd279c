/**
 * Request deadlines on a manual clock: what `withDeadline` promises every request, and that
 * requests sharing one deadline signal (the cheap path, without a signal of the caller's) keep
 * that promise. The same deadlines on a real silent connection: `request-deadlines.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../lib/index.js';
import { withDeadline } from '../lib/core/deadline.js';

/** Runs `withDeadline` with a send that records its signal and waits until told to settle. */
function pending(clock: Clock, ms: number, outer?: AbortSignal) {
  let signal: AbortSignal | undefined;
  let settle!: () => void;
  const done = withDeadline(clock, ms, outer, (given) => {
    signal = given;
    return new Promise<void>((resolve, reject) => {
      settle = resolve;
      given.addEventListener('abort', () => reject(given.reason));
    });
  });
  return { signal: signal!, settle, done: done.then(() => 'settled', (error: Error) => error.message) };
}

describe('withDeadline', () => {
  it('aborts a request with no answer no later than its timeout and no sooner than fifteen sixteenths of it', async () => {
    const clock = new ManualClock({ monotonicStart: 1_003 });
    const request = pending(clock, 1_600);
    await clock.advance(1_499);
    expect(request.signal.aborted).toBe(false);
    await clock.advance(101);
    expect(request.signal.aborted).toBe(true);
    expect(await request.done).toBe('no answer within 1600 ms');
  });

  it('lets requests of one timeout sent close together share a signal, and gives a later one its own', async () => {
    const clock = new ManualClock({ monotonicStart: 1_000 });
    const first = pending(clock, 1_600);
    await clock.advance(40);
    const second = pending(clock, 1_600);
    const otherTimeout = pending(clock, 800);
    expect(second.signal).toBe(first.signal);
    expect(otherTimeout.signal).not.toBe(first.signal);
    first.settle();
    expect(await first.done).toBe('settled');
    // The first has its answer; the second, which has none, is still cut off at its deadline.
    await clock.advance(1_600);
    expect(await second.done).toBe('no answer within 1600 ms');
    const later = pending(clock, 1_600);
    expect(later.signal).not.toBe(first.signal);
    expect(later.signal.aborted).toBe(false);
    later.settle();
    expect(await later.done).toBe('settled');
  });

  it('cuts off every request on a shared signal at once without warning of a listener leak', async () => {
    const clock = new ManualClock();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const requests = Array.from({ length: 50 }, () => pending(clock, 1_000));
      expect(new Set(requests.map((request) => request.signal)).size).toBe(1);
      await clock.advance(1_000);
      expect(await Promise.all(requests.map((request) => request.done))).toEqual(requests.map(() => 'no answer within 1000 ms'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("aborts with the caller's reason when the caller's signal aborts first, and at the full timeout otherwise", async () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const cancelled = pending(clock, 1_000, caller.signal);
    const timed = pending(clock, 1_000, new AbortController().signal);
    expect(timed.signal).not.toBe(cancelled.signal);
    caller.abort(new Error('caller gave up'));
    expect(await cancelled.done).toBe('caller gave up');
    await clock.advance(999);
    expect(timed.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(await timed.done).toBe('no answer within 1000 ms');
  });

  it('gives a request sent after a Lambda thaw a deadline from the clock, not a signal whose timer has not run yet', async () => {
    // A frozen process runs no timers, but its monotonic clock may move on: the overdue timers
    // run only some time after the thaw, maybe after the next invocation's first request.
    let now = 1_000;
    const due: { at: number; callback: () => void }[] = [];
    const frozenTimers: Clock = {
      monotonicNow: () => now,
      wallNow: () => Date.UTC(2026, 0, 1) + now,
      random: () => 0.5,
      setTimer: (callback, delayMs) => {
        const timer = { at: now + delayMs, callback };
        due.push(timer);
        return { cancel: () => due.splice(due.indexOf(timer), 1) };
      },
    };
    const beforeFreeze = pending(frozenTimers, 1_000);
    now += 60_000;
    const afterThaw = pending(frozenTimers, 1_000);
    expect(afterThaw.signal).not.toBe(beforeFreeze.signal);
    for (const timer of due.filter((timer) => timer.at <= now)) timer.callback();
    expect(await beforeFreeze.done).toBe('no answer within 1000 ms');
    expect(afterThaw.signal.aborted).toBe(false);
    afterThaw.settle();
    expect(await afterThaw.done).toBe('settled');
  });
});
