import type { Clock } from './clock.js';

/**
 * Delay before retry number `attempt` (0-based) of a write whose outcome was unknown or that was
 * throttled: exponential from 25 ms, capped at 1 s, with "equal jitter" so retries spread out.
 */
export function backoffMs(attempt: number, clock: Clock): number {
  const ceiling = Math.min(1_000, 25 * 2 ** attempt);
  return ceiling / 2 + (clock.random() * ceiling) / 2;
}
