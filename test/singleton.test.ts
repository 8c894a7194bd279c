/**
 * The singleton middleware with real middy handlers against real DynamoDB servers: of 20
 * concurrent invocations exactly one runs the body; the lease is released after errors too, but
 * never while a body middy timed out may still run.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, type Lease, LeaseClient, LeaseUnavailableError, type SingletonLeases } from '../lib/index.js';
import { singleton, type SingletonContext } from '../lib/serverless/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { cutOff } from './support/faults.js';

/** A Lambda context whose remaining time is frozen at this much (for tests about sizes, not time). */
const lambdaContext = (remainingMs = 10_000): Context =>
  ({
    functionName: 'job',
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

/** A Lambda context as the runtime passes it: a fixed deadline this far off, the time left running down. */
const invocationContext = (remainingMs: number): Context => {
  const deadline = Date.now() + remainingMs;
  return {
    functionName: 'job',
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;
};

/**
 * A body that outlives middy's early timeout and ignores its lease's signal, as a careless job
 * would (and as a frozen one does until its next thaw). Records when each copy ran.
 */
const overrunning = (runMs: number) => {
  const spans: { start: number; end: number }[] = [];
  const leases: Lease[] = [];
  const bodies: Promise<void>[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const work = (_event: unknown, context: Context) => {
    const body = (async () => {
      leases.push((context as SingletonContext).lease);
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      const span = { start: performance.now(), end: Number.POSITIVE_INFINITY };
      spans.push(span);
      await delay(runMs);
      span.end = performance.now();
      concurrent--;
    })();
    bodies.push(body);
    return body.then(() => 'done');
  };
  /** Milliseconds during which two bodies ran at once, summed over pairs. */
  const overlapMs = () =>
    spans
      .flatMap((a, i) => spans.slice(i + 1).map((b) => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start))))
      .reduce((sum, ms) => sum + ms, 0);
  return { work, leases, overlapMs, maxConcurrent: () => maxConcurrent, settled: () => Promise.all(bodies) };
};

/** Makes each request hang unanswered while `stalled()` is true: a network that swallows packets. */
const stall = (client: DynamoDBClient, stalled: () => boolean) =>
  client.middlewareStack.add(
    (next) => async (args) => {
      if (stalled()) return new Promise<never>(() => {});
      return next(args);
    },
    { step: 'initialize', name: 'leaseholdTestStall' },
  );

describe.each(backends())('singleton middleware on $name', (backend) => {
  const tableName = uniqueTableName('singleton');
  const client = clientFor(backend);
  const leases = new LeaseClient({ tableName, client, holderId: 'lambda' });
  const observer = new LeaseClient({ tableName, client, holderId: 'observer' });
  let n = 0;
  const fresh = () => `job-${++n}`;

  beforeAll(() => createLeaseTable(client, tableName));
  afterAll(() => client.destroy());

  /**
   * A handler body that records how many copies of itself run at once. It runs 100 ms, then on
   * while `hold()` says so, keeping the lease held.
   */
  const body = (hold: () => boolean = () => false) => {
    const stats = { runs: 0, concurrent: 0, maxConcurrent: 0, tokens: [] as number[] };
    const work = async (_event: unknown, context: Context) => {
      stats.runs++;
      stats.maxConcurrent = Math.max(stats.maxConcurrent, ++stats.concurrent);
      stats.tokens.push((context as SingletonContext).lease.fencingToken);
      await delay(100);
      while (hold()) await delay(10);
      stats.concurrent--;
      return 'done';
    };
    return { stats, work };
  };

  it('runs the body once of 20 concurrent invocations and skips the rest', async () => {
    const name = fresh();
    // The body holds the lease until every other invocation has answered: on a busy machine one
    // could otherwise come after the release, find the lease free and rightly run.
    let answered = 0;
    const { stats, work } = body(() => answered + stats.runs < 20);
    const handler = middy(work).use(singleton({ leases, name, onBusy: 'skip', skipValue: 'skipped' }));
    const results = await Promise.all(Array.from({ length: 20 }, () => handler({}, lambdaContext()).finally(() => answered++)));
    expect(stats.runs).toBe(1);
    expect(results.filter((r) => r === 'done')).toHaveLength(1);
    expect(results.filter((r) => r === 'skipped')).toHaveLength(19);
    expect((await observer.describe(name))?.state).toBe('released');
  });

  it('works with a lease client from another installed copy of the package (no instanceof)', async () => {
    const name = fresh();
    // What a LeaseClient of a second copy looks like here: a different class with the same shape.
    const secondCopy: SingletonLeases = {
      clock: leases.clock,
      tryAcquire: (lease, options) => leases.tryAcquire(lease, options),
      acquire: (lease, options) => leases.acquire(lease, options),
      describe: (lease) => leases.describe(lease),
    };
    const { stats, work } = body();
    const handler = middy(work).use(singleton({ leases: secondCopy, name }));
    expect(await handler({}, lambdaContext())).toBe('done');
    expect(stats.runs).toBe(1);
    expect((await observer.describe(name))?.state).toBe('released');
  });

  it('throws LeaseUnavailableError for the busy ones when asked to', async () => {
    const name = fresh();
    let answered = 0;
    const { stats, work } = body(() => answered + stats.runs < 20);
    const handler = middy(work).use(singleton({ leases, name, onBusy: 'throw' }));
    const invocations = Array.from({ length: 20 }, () => handler({}, lambdaContext()).finally(() => answered++));
    const results = await Promise.allSettled(invocations);
    expect(stats.runs).toBe(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(19);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(LeaseUnavailableError);
  });

  it('queues invocations one at a time when waiting, each with a larger token', async () => {
    const name = fresh();
    const { stats, work } = body();
    const handler = middy(work).use(singleton({ leases, name, onBusy: { waitMs: 30_000 } }));
    const results = await Promise.all(Array.from({ length: 20 }, () => handler({}, lambdaContext())));
    expect(results).toEqual(Array(20).fill('done'));
    expect(stats.maxConcurrent).toBe(1);
    expect(stats.tokens, 'tokens grow in the order the bodies ran').toEqual([...stats.tokens].sort((a, b) => a - b));
    expect(new Set(stats.tokens).size).toBe(20);
  }, 60_000);

  it('releases the lease when the handler throws, and the error reaches the caller', async () => {
    const name = fresh();
    const handler = middy(async () => {
      throw new Error('job failed');
    }).use(singleton({ leases, name }));
    await expect(handler({}, invocationContext(10_000))).rejects.toThrow('job failed');
    expect(await observer.describe(name)).toMatchObject({ state: 'released', fencingToken: 1 });
  });

  it('sizes the lease to the remaining invocation time plus the margin', async () => {
    const name = fresh();
    const handler = middy(async () => (await observer.describe(name))?.leaseMs).use(singleton({ leases, name, marginMs: 2_000 }));
    expect(await handler({}, lambdaContext(7_000))).toBe(9_000);
  });

  it('computes names from the event: different tenants run at once', async () => {
    const { stats, work } = body();
    const handler = middy(work).use(singleton({ leases, name: (event: { tenant: string }) => `report-${event.tenant}` }));
    await Promise.all(['a', 'b', 'c'].map((tenant) => handler({ tenant }, lambdaContext())));
    expect(stats.runs).toBe(3);
    expect(stats.maxConcurrent).toBe(3);
  });

  describe('when middy times out a body that is still running', () => {
    // The first invocation has 300-450 ms, its body runs 1 s: past middy's early timeout, yet well
    // inside the lease (remaining time + marginMs), which therefore cannot lapse while it runs.
    const marginMs = 5_000;

    /** `second` was started right after the first invocation timed out, while its body ran on. */
    const expectOneBodyAtATime = async (body: ReturnType<typeof overrunning>, name: string, second: Promise<unknown>) => {
      const [first] = body.leases;
      expect(first?.signal.aborted, 'the first body can see it must stop').toBe(true);
      expect(first?.signal.reason).toMatchObject({ name: 'LeaseLostError', reason: 'abandoned', fencingToken: 1 });
      expect(await second).toBe('skipped');
      await body.settled();
      expect(body.maxConcurrent()).toBe(1);
      expect(body.overlapMs()).toBe(0);
      expect(await observer.describe(name), 'left to lapse, not released').toMatchObject({ state: 'held', fencingToken: 1 });
    };

    it('keeps the lease when middy throws its TimeoutError, so the next invocation skips', async () => {
      const name = fresh();
      const body = overrunning(1_000);
      const handler = middy(body.work).use(singleton({ leases, name, marginMs, skipValue: 'skipped' }));
      await expect(handler({}, invocationContext(300))).rejects.toMatchObject({ name: 'TimeoutError' });
      await expectOneBodyAtATime(body, name, handler({}, invocationContext(300)).catch((error: unknown) => error));
    });

    it('keeps the lease when timeoutEarlyResponse answers instead of throwing', async () => {
      const name = fresh();
      const body = overrunning(1_000);
      const handler = middy(body.work, { timeoutEarlyResponse: () => 'timed out' }).use(
        singleton({ leases, name, marginMs, skipValue: 'skipped' }),
      );
      expect(await handler({}, invocationContext(300))).toBe('timed out');
      await expectOneBodyAtATime(body, name, handler({}, invocationContext(300)).catch((error: unknown) => error));
    });

    it('keeps the lease with a longer early timeout when told it (timeoutEarlyMs)', async () => {
      const name = fresh();
      const body = overrunning(1_000);
      const handler = middy(body.work, { timeoutEarlyInMillis: 150, timeoutEarlyResponse: () => 'timed out' }).use(
        singleton({ leases, name, marginMs, skipValue: 'skipped', timeoutEarlyMs: 150 }),
      );
      expect(await handler({}, invocationContext(450))).toBe('timed out');
      await expectOneBodyAtATime(body, name, handler({}, invocationContext(450)).catch((error: unknown) => error));
    });

    it("recognises middy's TimeoutError even with timeoutEarlyMs not set to match", async () => {
      const name = fresh();
      const body = overrunning(1_000);
      const handler = middy(body.work, { timeoutEarlyInMillis: 150 }).use(
        singleton({ leases, name, marginMs, skipValue: 'skipped' }),
      );
      await expect(handler({}, invocationContext(450))).rejects.toMatchObject({ name: 'TimeoutError' });
      await expectOneBodyAtATime(body, name, handler({}, invocationContext(450)).catch((error: unknown) => error));
    });

    it('keeps the lease when a custom timeoutEarlyResponse throws its own error', async () => {
      const name = fresh();
      const body = overrunning(1_000);
      const timeoutEarlyResponse = () => {
        throw new Error('out of time');
      };
      const handler = middy(body.work, { timeoutEarlyResponse }).use(singleton({ leases, name, marginMs, skipValue: 'skipped' }));
      await expect(handler({}, invocationContext(300))).rejects.toThrow('out of time');
      await expectOneBodyAtATime(body, name, handler({}, invocationContext(300)).catch((error: unknown) => error));
    });
  });

  describe('when the release fails', () => {
    // A client of its own, so its faults reach no other test.
    const flaky = clientFor(backend);
    const flakyLeases = new LeaseClient({ tableName, client: flaky, holderId: 'lambda' });
    let down = false;
    let stalled = false;
    cutOff(flaky, () => down);
    stall(flaky, () => stalled);
    afterAll(() => flaky.destroy());

    it('still returns the handler result, and the lease lapses on its own', async () => {
      const name = fresh();
      const handler = middy(async () => {
        down = true;
        return 'done';
      }).use(singleton({ leases: flakyLeases, name }));
      try {
        expect(await handler({}, invocationContext(10_000))).toBe('done');
      } finally {
        down = false;
      }
      expect(await observer.describe(name), 'the release never reached the table').toMatchObject({ state: 'held' });
    });

    it('returns the handler result without waiting for a release that never answers', async () => {
      const name = fresh();
      const handler = middy(async () => {
        stalled = true;
        return 'done';
      }).use(singleton({ leases: flakyLeases, name }));
      try {
        expect(await handler({}, invocationContext(1_500))).toBe('done');
      } finally {
        stalled = false;
      }
      expect(await observer.describe(name), 'the release never reached the table').toMatchObject({ state: 'held' });
    }, 10_000);
  });

  it('lets the handler renew at checkpoints', async () => {
    const name = fresh();
    const handler = middy(async (_event: unknown, context: Context) => {
      const { lease } = context as SingletonContext;
      const before = lease.expiresAt;
      await delay(5);
      await lease.renew({ leaseMs: 60_000 });
      return lease.expiresAt > before;
    }).use(singleton({ leases, name }));
    expect(await handler({}, lambdaContext())).toBe(true);
  });
});

describe('singleton options', () => {
  const [backend] = backends();
  const leases = new LeaseClient({ tableName: 'leases', client: clientFor(backend!) });
  it.each([
    ['a missing lease client', 'leases', { leases: undefined }],
    ['a lease client without acquire', 'leases', { leases: { clock: leases.clock, tryAcquire: () => undefined, describe: () => undefined } }],
    ['an empty name', 'name', { name: '' }],
    ['an unknown onBusy', 'onBusy', { onBusy: 'queue' }],
    ['a negative wait', 'onBusy.waitMs', { onBusy: { waitMs: -1 } }],
    ['a negative margin', 'marginMs', { marginMs: -5 }],
    ['a negative early timeout', 'timeoutEarlyMs', { timeoutEarlyMs: -1 }],
    ['an early timeout that is not a number', 'timeoutEarlyMs', { timeoutEarlyMs: '5' }],
    ['an unknown option', 'options.retries', { retries: 3 }],
  ])('rejects %s (%s)', (_what, argument, override) => {
    const options = { leases, name: 'job', ...override } as Parameters<typeof singleton>[0];
    expect(() => singleton(options)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
  });

  it('names what a lease client lacks', () => {
    const leases = { clock: { monotonicNow: () => 0 }, tryAcquire: () => undefined, describe: 'no' } as unknown as SingletonLeases;
    expect(() => singleton({ leases, name: 'job' })).toThrow(
      'leases: must implement SingletonLeases, as a LeaseClient does (missing or mistyped: clock.wallNow, clock.random, clock.setTimer, acquire, describe)',
    );
  });
});
