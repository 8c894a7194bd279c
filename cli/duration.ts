import { InvalidArgumentError } from '../lib/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `2m`, `1h`, `1.5s` or `1m30s` into a whole number of milliseconds. */
export function parseDuration(option: string, text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const whole = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || whole !== text.trim()) {
    throw new InvalidArgumentError(option, `"${text}" is not a duration; use e.g. 500ms, 30s, 2m, 1h`);
  }
  const ms = parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * UNITS[unit!]!, 0);
  if (ms <= 0) throw new InvalidArgumentError(option, 'must be longer than zero');
  // Clocks and timers count whole milliseconds, so a fraction would be silently rounded one way
  // or another; the tolerance only absorbs float error (1.1s is 1100.0000000000002 ms).
  const wholeMs = Math.round(ms);
  if (Math.abs(ms - wholeMs) > 1e-6) {
    throw new InvalidArgumentError(option, `"${text}" is not a whole number of milliseconds`);
  }
  return wholeMs;
}

/** A commander argument parser for the duration option named `option`. */
export function durationOption(option: string): (text: string) => number {
  return (text) => parseDuration(option, text);
}

/** `8.2s`, `3m 05s`, `-1.5s` (already past). */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(1)}s`;
  const minutes = Math.floor(abs / 60_000);
  return `${sign}${minutes}m ${String(Math.floor((abs % 60_000) / 1_000)).padStart(2, '0')}s`;
}
