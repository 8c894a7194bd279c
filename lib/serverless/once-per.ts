/**
 * The singleton's `oncePer`: which run an invocation is, as a key the lease item records once the
 * run has finished (see `runOnce` in the core).
 *
 * @module
 */
import type { Context } from 'aws-lambda';
import type { Clock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import { checkKeep, checkRunKey, DEFAULT_KEEP_DONE } from '../core/once.js';
import { rejectUnknownKeys } from '../core/validate.js';

/**
 * Which run an invocation is, for a singleton that runs at most once per run: a slot of time, or a
 * key computed from the event. `keep` is how many done runs the lease item keeps, newest first,
 * from 1 to 100 (default 10): a run pruned past it would run again.
 */
export type OncePer<TEvent = unknown> =
  | {
      /**
       * Slots this long, in whole ms, counted from the Unix epoch: an EventBridge event's `time`
       * (a scheduled rule's firing time, the same in every duplicate delivery) floored to a slot
       * start; for any other event, the invocation's start on the lease client's clock. The
       * slot's key is its start as an ISO date, e.g. `2026-12-02T10:00:00.000Z`.
       */
      readonly slotMs: number;
      /** How many done runs the lease item keeps. @default 10 */
      readonly keep?: number;
    }
  | {
      /** The run's key, from the event: an order id, a message's deduplication id, a date. At most 255 UTF-8 bytes. */
      readonly key: (event: TEvent, context: Context) => string;
      /** How many done runs the lease item keeps. @default 10 */
      readonly keep?: number;
    };

/** Checks `oncePer` and returns how many done runs it keeps. */
export function checkOncePer(oncePer: unknown): number {
  if (oncePer === null || typeof oncePer !== 'object') throw new InvalidArgumentError('oncePer', 'must be { slotMs } or { key }');
  rejectUnknownKeys('oncePer', oncePer, ['slotMs', 'key', 'keep']);
  const { slotMs, key, keep = DEFAULT_KEEP_DONE } = oncePer as { slotMs?: unknown; key?: unknown; keep?: unknown };
  if ((slotMs === undefined) === (key === undefined)) throw new InvalidArgumentError('oncePer', 'must have either slotMs or key, not both');
  if (slotMs !== undefined && (typeof slotMs !== 'number' || !Number.isSafeInteger(slotMs) || slotMs <= 0)) {
    throw new InvalidArgumentError('oncePer.slotMs', 'must be a positive whole number of milliseconds');
  }
  if (key !== undefined && typeof key !== 'function') throw new InvalidArgumentError('oncePer.key', 'must be a function of the event');
  checkKeep('oncePer.keep', keep);
  return keep;
}

/** The key of the run `event` is. Throws `InvalidArgumentError` for a key function's bad answer. */
export function runKeyOf<TEvent>(oncePer: OncePer<TEvent>, event: TEvent, context: Context, clock: Clock): string {
  if ('key' in oncePer) {
    const key: unknown = oncePer.key(event, context);
    checkRunKey('oncePer.key', key);
    return key;
  }
  const at = eventTime(event) ?? clock.wallNow();
  return new Date(Math.floor(at / oncePer.slotMs) * oncePer.slotMs).toISOString();
}

/** An EventBridge event's `time` (epoch ms), or `undefined` for any other event. */
function eventTime(event: unknown): number | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const { source, 'detail-type': detailType, time } = event as Record<string, unknown>;
  if (typeof source !== 'string' || typeof detailType !== 'string' || typeof time !== 'string') return undefined;
  const at = Date.parse(time);
  return Number.isFinite(at) ? at : undefined;
}
