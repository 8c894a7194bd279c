/**
 * The singleton middleware with real middy handlers against real DynamoDB servers: of 20
 * concurrent invocations exactly one runs the body; the lease is released after errors too.
 */
import { setTimeout as delay } from 'node:timers/promises';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, LeaseUnavailableError, singleton, type SingletonContext } from '../lib/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

/** A Lambda context as the runtime passes it, with this much time left. */
const lambdaContext = (remainingMs = 10_000): Context =>
  ({
    functionName: 'job',
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

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
    await expect(handler({}, lambdaContext())).rejects.toThrow('job failed');
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
    ['an empty name', 'name', { name: '' }],
    ['an unknown onBusy', 'onBusy', { onBusy: 'queue' }],
    ['a negative wait', 'onBusy.waitMs', { onBusy: { waitMs: -1 } }],
    ['a negative margin', 'marginMs', { marginMs: -5 }],
    ['an unknown option', 'options.retries', { retries: 3 }],
  ])('rejects %s (%s)', (_what, argument, override) => {
    const options = { leases, name: 'job', ...override } as Parameters<typeof singleton>[0];
    expect(() => singleton(options)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
  });
});
