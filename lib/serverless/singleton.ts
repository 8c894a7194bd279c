/**
 * A middy middleware that makes a Lambda handler a cluster-wide singleton: the lease is acquired
 * before the handler and released after it, whether it succeeded or failed. No timers: the lease
 * lasts the invocation's remaining time plus a margin, so a crashed or timed-out invocation's
 * lease lapses on its own shortly after.
 *
 * @module
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import { InvalidArgumentError, LeaseUnavailableError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import { LeaseClient } from '../core/lease-client.js';
import { checkData, checkDurationMs, checkLeaseName, rejectUnknownKeys } from '../core/validate.js';

/** What to do when another invocation holds the lease. */
export type OnBusy = 'skip' | 'throw' | { readonly waitMs: number };

/** Options of {@link singleton}. */
export interface SingletonOptions<TEvent = unknown> {
  readonly leases: LeaseClient;
  /** The lease name, or how to compute it from the event (one singleton per tenant, say). */
  readonly name: string | ((event: TEvent, context: Context) => string);
  /**
   * `skip` returns `skipValue` without running the handler; `throw` throws
   * {@link LeaseUnavailableError}; `{ waitMs }` waits up to that long, then throws. @default 'skip'
   */
  readonly onBusy?: OnBusy;
  /** What a skipped invocation returns. @default undefined */
  readonly skipValue?: unknown;
  /** Added to the remaining invocation time to make the lease duration. @default 1000 */
  readonly marginMs?: number;
  /** Payload stored with the lease. */
  readonly data?: Record<string, unknown>;
}

/** The Lambda context inside a singleton handler: `context.lease` is the held lease. */
export type SingletonContext = Context & { lease: Lease };

const OPTIONS = ['leases', 'name', 'onBusy', 'skipValue', 'marginMs', 'data'] as const;
const DEFAULTS = { onBusy: 'skip', marginMs: 1_000 } as const;

/**
 * `middy(handler).use(singleton({ leases, name: 'nightly-report' }))`. Use it last, so that no
 * middleware after it can end the request early with the lease still held.
 */
export function singleton<TEvent = unknown, TResult = unknown>(
  options: SingletonOptions<TEvent>,
): MiddlewareObj<TEvent, TResult, Error, Context> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, OPTIONS);
  if (!(options.leases instanceof LeaseClient)) throw new InvalidArgumentError('leases', 'must be a LeaseClient');
  if (typeof options.name !== 'function') checkLeaseName(options.name);
  const { onBusy, marginMs } = { ...DEFAULTS, ...options };
  checkDurationMs('marginMs', marginMs);
  if (typeof onBusy === 'object') {
    rejectUnknownKeys('onBusy', onBusy, ['waitMs']);
    checkDurationMs('onBusy.waitMs', onBusy.waitMs);
  } else if (onBusy !== 'skip' && onBusy !== 'throw') {
    throw new InvalidArgumentError('onBusy', "must be 'skip', 'throw' or { waitMs }");
  }
  if (options.data !== undefined) checkData(options.data);
  const held = new WeakMap<Context, Lease>();

  const release = async (request: Request<TEvent, TResult, Error, Context>) => {
    const lease = held.get(request.context);
    held.delete(request.context);
    await lease?.release();
  };

  return {
    name: 'leasehold-singleton',
    async before(request) {
      const name = typeof options.name === 'function' ? options.name(request.event, request.context) : options.name;
      checkLeaseName(name);
      const leaseMs = request.context.getRemainingTimeInMillis() + marginMs;
      const acquire = { leaseMs, ...(options.data && { data: options.data }) };
      const lease =
        typeof onBusy === 'object'
          ? await options.leases.acquire(name, { ...acquire, waitMs: onBusy.waitMs })
          : await options.leases.tryAcquire(name, acquire);
      if (!lease) {
        if (onBusy === 'throw') throw new LeaseUnavailableError(name, (await options.leases.describe(name)) ?? undefined, 0);
        // middy 6 skips the handler when `before` sets an early response, undefined included.
        request.earlyResponse = options.skipValue as TResult;
        return;
      }
      held.set(request.context, lease);
      (request.context as SingletonContext).lease = lease;
    },
    after: release,
    async onError(request) {
      // The handler's error is what the caller must see: a failed release must not replace it.
      await release(request).catch(() => {});
    },
  };
}
