/**
 * A middy middleware that makes a Lambda handler a cluster-wide singleton: the lease is acquired
 * before the handler and released once the handler has settled, whether it succeeded or failed.
 * No timers: the lease lasts the invocation's remaining time plus a margin, so a crashed or
 * timed-out invocation's lease lapses on its own shortly after.
 *
 * A body middy's early timeout gave up on is never released: Lambda freezes it and resumes it at
 * the next thaw, so a release would let the next invocation run beside it. Its lease is aborted
 * (the body's `context.lease.signal` fires) and left to lapse.
 *
 * @module
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import { settledOrAfter } from '../core/clock.js';
import { InvalidArgumentError, LeaseUnavailableError, type LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import { checkLeases, SINGLETON_LEASES, type SingletonLeases } from '../core/contracts.js';
import { checkData, checkDurationMs, checkLeaseName, rejectUnknownKeys } from '../core/validate.js';
import { checkOncePer, runKeyOf, type OncePer } from './once-per.js';
import { checkSemaphoreLimit, Semaphore } from '../core/semaphore.js';
import type { AcquireOptions } from '../core/lease-client.js';

/** What to do when another invocation holds the lease. */
export type OnBusy =
  | 'skip'
  | 'throw'
  | {
      /** How long to wait for the lease, in ms, before throwing {@link LeaseUnavailableError}. */
      readonly waitMs: number;
    };

/** Options of {@link singleton}. */
export interface SingletonOptions<TEvent = unknown> {
  /**
   * The lease client to acquire with (its table, holder id, clock and skew allowance): a
   * `LeaseClient`, from this or another installed copy of the package, or anything implementing
   * {@link SingletonLeases}.
   */
  readonly leases: SingletonLeases;
  /** The lease name, or how to compute it from the event (one singleton per tenant, say). */
  readonly name: string | ((event: TEvent, context: Context) => string);
  /**
   * `skip` returns `skipValue` without running the handler; `throw` throws
   * {@link LeaseUnavailableError}; `{ waitMs }` waits up to that long, then throws. @default 'skip'
   */
  readonly onBusy?: OnBusy;
  /** What a skipped invocation returns. @default undefined */
  readonly skipValue?: unknown;
  /**
   * Added to the remaining invocation time to make the lease duration: how long after the
   * deadline of a timed-out invocation the next one may take over. @default 1000
   */
  readonly marginMs?: number;
  /**
   * The `timeoutEarlyInMillis` you gave middy: set both to the same value. A handler that settles
   * with no more than this (plus a few ms of timer slack) left may be one middy's early timeout
   * gave up on while its body still runs, so its lease is aborted and left to lapse rather than
   * released. middy's own `TimeoutError` is recognised whatever this is; a `timeoutEarlyResponse`
   * that returns a value, or throws an error of its own, is recognised only by this.
   * @default 5 (middy's default)
   */
  readonly timeoutEarlyMs?: number;
  /** Payload stored with the lease. */
  readonly data?: Record<string, unknown>;
  /**
   * Run at most once per slot of time or per key: a handler that succeeds records its run done
   * in the same conditional write as the release, and a later invocation of the same run that
   * acquires the lease finds the record and answers as a skip does (`skipValue`) without running
   * the handler, whatever `onBusy` says. A handler that throws or times out records nothing, so a
   * retry runs. See {@link OncePer}.
   */
  readonly oncePer?: OncePer<TEvent>;
  /**
   * How many invocations may run the body at once, 1 to 100: above 1, each holds one slot of the
   * `Semaphore` of this name (`context.lease.name` says which; slot 0 is the name itself, so a
   * limit of 1 is the plain singleton). `onBusy` applies when every slot is held. Cannot be
   * combined with `oncePer`, whose record lives on one lease. @default 1
   */
  readonly limit?: number;
}

/** The Lambda context inside a singleton handler: `context.lease` is the held lease. */
export type SingletonContext = Context & {
  /**
   * The lease held for this invocation: pass its `fencingToken` to what the handler changes,
   * watch its `signal`, and `renew()` it at checkpoints of a long job.
   */
  lease: Lease;
};

const OPTIONS = ['leases', 'name', 'onBusy', 'skipValue', 'marginMs', 'timeoutEarlyMs', 'data', 'oncePer', 'limit'] as const;
const DEFAULTS = { onBusy: 'skip', marginMs: 1_000, timeoutEarlyMs: 5 } as const;

/**
 * How much more than `timeoutEarlyMs` may be left when middy's early timer fires: its whole-ms
 * timer against Lambda's deadline measured 2 ms at most. The rest is spare, and cheap: a settled
 * body taken for a running one only leaves its lease to lapse.
 */
const TIMER_SLACK_MS = 25;

/**
 * `middy(handler).use(singleton({ leases, name: 'nightly-report' }))`. Use it last, so that no
 * middleware after it can end the request early with the lease still held.
 *
 * When middy's early timeout gives up on the handler, the body is still running (and Lambda
 * resumes it at the next thaw), so the lease is not released: `context.lease.signal` aborts with
 * a {@link LeaseLostError} of reason `abandoned`, and the lease lapses `marginMs` (plus the
 * contenders' `skewMs`) after the invocation's deadline. A body that can outlive its invocation
 * must watch that signal and pass `context.lease.fencingToken` to what it writes. Set
 * `timeoutEarlyMs` to middy's `timeoutEarlyInMillis`.
 */
export function singleton<TEvent = unknown, TResult = unknown>(
  options: SingletonOptions<TEvent>,
): MiddlewareObj<TEvent, TResult, Error, Context> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, OPTIONS);
  checkLeases(options.leases, 'SingletonLeases', SINGLETON_LEASES);
  if (typeof options.name !== 'function') checkLeaseName(options.name);
  const { onBusy, marginMs, timeoutEarlyMs } = { ...DEFAULTS, ...options };
  checkDurationMs('marginMs', marginMs);
  checkDurationMs('timeoutEarlyMs', timeoutEarlyMs);
  if (typeof onBusy === 'object') {
    rejectUnknownKeys('onBusy', onBusy, ['waitMs']);
    checkDurationMs('onBusy.waitMs', onBusy.waitMs);
  } else if (onBusy !== 'skip' && onBusy !== 'throw') {
    throw new InvalidArgumentError('onBusy', "must be 'skip', 'throw' or { waitMs }");
  }
  if (options.data !== undefined) checkData(options.data);
  const { oncePer } = options;
  const keep = oncePer === undefined ? undefined : checkOncePer(oncePer);
  const limit = options.limit ?? 1;
  checkSemaphoreLimit('limit', limit);
  if (limit > 1 && oncePer !== undefined) throw new InvalidArgumentError('limit', 'cannot be above 1 with oncePer: a run is recorded done on one lease');
  // One semaphore for a fixed name, so what it learns of busy slots serves the next invocations.
  const fixedSlots = limit > 1 && typeof options.name === 'string' ? new Semaphore({ leases: options.leases, name: options.name, limit }) : undefined;
  const held = new WeakMap<Context, Lease>();
  /** The run key of each held invocation with `oncePer`. */
  const runKeys = new WeakMap<Context, string>();
  const { clock } = options.leases;

  // Runs once the handler's race in middy is over: the body settled, or middy's early timer won
  // and the body may run on. Never throws: after success, a failed release must not turn the
  // result into an error Lambda would retry; after an error, that error is what the caller sees.
  const settle = async (request: Request<TEvent, TResult, Error, Context>): Promise<void> => {
    const lease = held.get(request.context);
    if (!lease) return;
    held.delete(request.context);
    const remainingMs = request.context.getRemainingTimeInMillis();
    // 1. A middleware cannot see the handler's promise, only what middy's early timeout leaves:
    //    its TimeoutError, or this little time left. Then the body may run on: abort, write nothing.
    if (isMiddyTimeout(request.error) || remainingMs <= timeoutEarlyMs + TIMER_SLACK_MS) {
      lease.abandon();
      return;
    }
    // 2. The body settled: release, but stop waiting where middy would have given up, so a
    //    release that hangs does not make Lambda time out a finished invocation. A release that
    //    fails or is still pending leaves the lease to lapse; one that lands late is harmless,
    //    being conditional on this fencing token. Only a body that succeeded records its run.
    const runKey = request.error === undefined ? runKeys.get(request.context) : undefined;
    const release = runKey === undefined ? lease.release() : lease.releaseDone(runKey, { keep });
    await settledOrAfter(clock, release, remainingMs - timeoutEarlyMs);
  };

  return {
    name: 'leasehold-singleton',
    async before(request) {
      const name = typeof options.name === 'function' ? options.name(request.event, request.context) : options.name;
      checkLeaseName(name);
      // Before acquiring: a key function's bad answer fails the invocation with nothing stored.
      const runKey = oncePer && runKeyOf(oncePer, request.event, request.context, clock);
      const leaseMs = request.context.getRemainingTimeInMillis() + marginMs;
      const acquire = { leaseMs, ...(options.data && { data: options.data }) };
      const slots = limit > 1 ? (fixedSlots ?? new Semaphore({ leases: options.leases, name, limit })) : undefined;
      const lease = slots
        ? await acquireSlot(slots, acquire, onBusy)
        : typeof onBusy === 'object'
          ? await options.leases.acquire(name, { ...acquire, waitMs: onBusy.waitMs })
          : await options.leases.tryAcquire(name, acquire);
      if (!lease) {
        if (onBusy === 'throw') throw new LeaseUnavailableError(name, (await options.leases.describe(name)) ?? undefined, 0);
        // middy 6 skips the handler when `before` sets an early response, undefined included.
        request.earlyResponse = options.skipValue as TResult;
        return;
      }
      if (runKey !== undefined && lease.doneRun(runKey)) {
        // An earlier invocation finished this run: give the lease back untouched and skip.
        await settledOrAfter(clock, lease.release(), request.context.getRemainingTimeInMillis() - timeoutEarlyMs);
        request.earlyResponse = options.skipValue as TResult;
        return;
      }
      held.set(request.context, lease);
      if (runKey !== undefined) runKeys.set(request.context, runKey);
      (request.context as SingletonContext).lease = lease;
    },
    after: settle,
    onError: settle,
  };
}

/** A slot of `slots`: `undefined` to skip; when busy, `throw` and a wait that runs out throw `LeaseUnavailableError`. */
function acquireSlot(slots: Semaphore, acquire: AcquireOptions, onBusy: OnBusy): Promise<Lease | undefined> {
  if (onBusy === 'skip') return slots.tryAcquire(acquire);
  return slots.acquire({ ...acquire, waitMs: onBusy === 'throw' ? 0 : onBusy.waitMs });
}

/** The error `@middy/core` 6 throws by default when its early timeout wins over the handler. */
function isMiddyTimeout(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'TimeoutError') return false;
  return (error.cause as { package?: unknown } | undefined)?.package === '@middy/core';
}
