/**
 * At most once per slot, on real DynamoDB servers: the run that finishes a slot records it done in
 * the same conditional write as its release, later invocations of that slot skip, and a run that
 * failed or timed out leaves the slot open. The marker survives lost answers, acquisitions and the
 * reaper, and the markers kept on the lease item stay bounded.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, ManualClock, runOnce, type RunOnceContext, type RunOnceOptions } from '../lib/index.js';
import { LeaseAttribute as A } from '../lib/core/schema.js';
import { reapExpiredLeases, singleton, type SingletonContext } from '../lib/serverless/index.js';
import { backends, clientFor, referenceBackend, uniqueTableName } from './support/backends.js';
import { countRequests, loseResponses, networkError } from './support/faults.js';

/** A Lambda context whose remaining time is frozen at this much (for tests about counts, not time). */
const lambdaContext = (remainingMs = 10_000): Context =>
  ({ functionName: 'job', awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

/** A Lambda context as the runtime passes it: a fixed deadline this far off, the time left running down. */
const invocationContext = (remainingMs: number): Context => {
  const deadline = Date.now() + remainingMs;
  return { functionName: 'job', awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as Context;
};

/** An EventBridge scheduled event as a rule delivers it (the same `time` in every duplicate). */
const scheduledEvent = (time: string) => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time,
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/nightly'],
  detail: {},
});

const HOUR = 3_600_000;

const run = promisify(execFile);

/**
 * Sends each chosen request and loses whatever answer comes back, a refusal included (unlike
 * `loseResponses`, which loses only the answers of writes that landed).
 */
const loseEveryAnswer = (client: DynamoDBClient, drop: (operation: string) => boolean) => {
  let dropped = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!drop(String(context.commandName).replace(/Command$/, ''))) return next(args);
      await next(args).catch(() => undefined);
      dropped++;
      throw networkError();
    },
    { step: 'initialize', name: 'onceTestLoseEveryAnswer' },
  );
  return { dropped: () => dropped };
};

describe.each(backends())('once per slot on $name', (backend) => {
  const tableName = uniqueTableName('once');
  const client = clientFor(backend);
  const leases = new LeaseClient({ tableName, client, holderId: 'lambda' });
  const observer = new LeaseClient({ tableName, client, holderId: 'observer' });
  const documents = DynamoDBDocumentClient.from(client);
  let n = 0;
  const fresh = () => `once-${++n}`;
  /** The lease item exactly as stored. */
  const stored = async (name: string) =>
    (await documents.send(new GetCommand({ TableName: tableName, Key: { [A.name]: name }, ConsistentRead: true }))).Item;

  beforeAll(() => createLeaseTable(client, tableName));
  afterAll(() => client.destroy());

  /** A handler body that counts its runs; `fail` decides per run whether it throws. */
  const counted = (fail: (run: number) => boolean = () => false) => {
    const stats = { runs: 0, tokens: [] as number[] };
    const work = async (_event: unknown, context: Context) => {
      const run = ++stats.runs;
      stats.tokens.push((context as SingletonContext).lease.fencingToken);
      await delay(20);
      if (fail(run)) throw new Error(`run ${run} failed`);
      return 'done';
    };
    return { stats, work };
  };

  describe('the singleton with oncePer', () => {
    it('runs the body once for 20 concurrent and 20 later invocations of one scheduled slot', async () => {
      const name = fresh();
      const { stats, work } = counted();
      const handler = middy(work).use(singleton({ leases, name, oncePer: { slotMs: HOUR }, skipValue: 'skipped' }));
      // Duplicates of one scheduled event, delivered at once and again later.
      const first = await Promise.all(Array.from({ length: 20 }, () => handler(scheduledEvent('2026-12-02T10:00:00Z'), lambdaContext())));
      const later = await Promise.all(Array.from({ length: 20 }, () => handler(scheduledEvent('2026-12-02T10:00:00Z'), lambdaContext())));
      expect(stats.runs).toBe(1);
      expect([...first, ...later].filter((r) => r === 'done')).toHaveLength(1);
      expect([...first, ...later].filter((r) => r === 'skipped')).toHaveLength(39);
      const lease = await observer.describe(name);
      expect(lease).toMatchObject({ state: 'released' });
      // The slot is the event's time floored to the hour, recorded under the token of the run.
      expect(lease?.doneRuns).toEqual([{ key: '2026-12-02T10:00:00.000Z', fencingToken: stats.tokens[0], doneAt: expect.any(Number) }]);
    });

    it('runs the next slot, and slots the event time falls in, not the delivery time', async () => {
      const name = fresh();
      const { stats, work } = counted();
      const handler = middy(work).use(singleton({ leases, name, oncePer: { slotMs: HOUR }, skipValue: 'skipped' }));
      expect(await handler(scheduledEvent('2026-12-02T10:00:00Z'), lambdaContext())).toBe('done');
      expect(await handler(scheduledEvent('2026-12-02T10:59:59Z'), lambdaContext())).toBe('skipped');
      expect(await handler(scheduledEvent('2026-12-02T11:00:00Z'), lambdaContext())).toBe('done');
      expect(stats.runs).toBe(2);
    });

    it('slots other events by the invocation start on the client clock', async () => {
      const name = fresh();
      const clock = new ManualClock({ wallStart: Date.parse('2026-12-02T10:00:30Z') });
      const manual = new LeaseClient({ tableName, client, holderId: 'manual', clock });
      const { stats, work } = counted();
      const handler = middy(work).use(singleton({ leases: manual, name, oncePer: { slotMs: 60_000 }, skipValue: 'skipped' }));
      expect(await handler({ from: 'sqs' }, lambdaContext())).toBe('done');
      await clock.advance(20_000); // 10:00:50: the same minute
      expect(await handler({ from: 'sqs' }, lambdaContext())).toBe('skipped');
      await clock.advance(20_000); // 10:01:10: the next one
      expect(await handler({ from: 'sqs' }, lambdaContext())).toBe('done');
      expect(stats.runs).toBe(2);
      expect((await observer.describe(name))?.doneRuns.map((run) => run.key)).toEqual(['2026-12-02T10:01:00.000Z', '2026-12-02T10:00:00.000Z']);
    });

    it('keys runs with a key function', async () => {
      const name = fresh();
      const { stats, work } = counted();
      const handler = middy(work).use(
        singleton({ leases, name, oncePer: { key: (event: { orderId: string }) => `order-${event.orderId}` }, skipValue: 'skipped' }),
      );
      const results = [];
      for (const orderId of ['a', 'b', 'a', 'c', 'b']) results.push(await handler({ orderId }, lambdaContext()));
      expect(results).toEqual(['done', 'done', 'skipped', 'done', 'skipped']);
      expect(stats.runs).toBe(3);
    });

    it('leaves the slot open after a run that threw, so the retry runs the body', async () => {
      const name = fresh();
      const { stats, work } = counted((run) => run === 1);
      const handler = middy(work).use(singleton({ leases, name, oncePer: { slotMs: HOUR }, skipValue: 'skipped' }));
      const event = scheduledEvent('2026-12-02T10:00:00Z');
      await expect(handler(event, lambdaContext())).rejects.toThrow('run 1 failed');
      expect(await observer.describe(name)).toMatchObject({ state: 'released', doneRuns: [] });
      expect(await handler(event, lambdaContext())).toBe('done');
      expect(await handler(event, lambdaContext())).toBe('skipped');
      expect(stats.runs).toBe(2);
      expect((await observer.describe(name))?.doneRuns).toMatchObject([{ key: '2026-12-02T10:00:00.000Z', fencingToken: 2 }]);
    });

    it("leaves the slot open after middy's early timeout, so a retry once the lease lapses runs the body", async () => {
      const name = fresh();
      // A short margin and skew allowance, so the abandoned lease lapses soon after the deadline.
      const quick = new LeaseClient({ tableName, client, holderId: 'quick', skewMs: 50 });
      let runs = 0;
      const bodies: Promise<void>[] = [];
      const handler = middy((_event: unknown, context: Context) => {
        runs++;
        // The first body outlives its invocation, as a frozen one does until its next thaw.
        const body = delay(runs === 1 ? 600 : 10).then(() => undefined);
        bodies.push(body);
        return body.then(() => ((context as SingletonContext).lease.signal.aborted ? 'late' : 'done'));
      }).use(singleton({ leases: quick, name, oncePer: { slotMs: HOUR }, marginMs: 100, onBusy: { waitMs: 10_000 } }));
      const event = scheduledEvent('2026-12-02T10:00:00Z');
      await expect(handler(event, invocationContext(300))).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(await observer.describe(name), 'abandoned, not released, and not done').toMatchObject({ doneRuns: [], fencingToken: 1 });
      expect((await stored(name))?.[A.state]).toBe('held');
      // The retry waits out the abandoned lease, finds the slot open and runs.
      expect(await handler(event, invocationContext(10_000))).toBe('done');
      await Promise.all(bodies);
      expect(runs).toBe(2);
      expect((await observer.describe(name))?.doneRuns).toMatchObject([{ key: '2026-12-02T10:00:00.000Z', fencingToken: 2 }]);
    });

    it('keeps the newest `keep` markers on the item, never deleting it: the token survives', async () => {
      const name = fresh();
      const { stats, work } = counted();
      const handler = middy(work).use(singleton({ leases, name, oncePer: { slotMs: HOUR, keep: 5 }, skipValue: 'skipped' }));
      const slots = Array.from({ length: 12 }, (_, i) => new Date(Date.parse('2026-12-02T00:00:00Z') + i * HOUR).toISOString());
      for (const slot of slots) expect(await handler(scheduledEvent(slot), lambdaContext())).toBe('done');
      const item = await stored(name);
      expect(item?.[A.fencingToken]).toBe(12);
      expect(Object.keys(item?.[A.doneRuns] as object).sort()).toEqual(slots.slice(-5));
      // The newest five still skip; a slot pruned past the bound runs again, by design.
      expect(await handler(scheduledEvent(slots[11]!), lambdaContext())).toBe('skipped');
      expect(await handler(scheduledEvent(slots[7]!), lambdaContext())).toBe('skipped');
      expect(await handler(scheduledEvent(slots[6]!), lambdaContext())).toBe('done');
      expect(stats.runs).toBe(13);
    });

    it('keeps 10 markers by default', async () => {
      const name = fresh();
      const handler = middy(async () => 'done').use(singleton({ leases, name, oncePer: { key: (event: { id: string }) => event.id } }));
      for (let i = 0; i < 15; i++) await handler({ id: `message-${i}` }, lambdaContext());
      const item = await stored(name);
      expect(Object.keys(item?.[A.doneRuns] as object)).toHaveLength(10);
      expect(item?.[A.doneRuns]).toHaveProperty(['message-14']);
      expect(item?.[A.doneRuns]).toHaveProperty(['message-5']);
      expect(item?.[A.doneRuns]).not.toHaveProperty(['message-4']);
    });

    it('costs a duplicate one acquisition and one release, and no read', async () => {
      const name = fresh();
      const counting = clientFor(backend);
      const requests = countRequests(counting);
      const handler = middy(async () => 'done').use(
        singleton({ leases: new LeaseClient({ tableName, client: counting }), name, oncePer: { slotMs: HOUR }, skipValue: 'skipped' }),
      );
      const event = scheduledEvent('2026-12-02T10:00:00Z');
      try {
        expect(await handler(event, lambdaContext())).toBe('done');
        requests.reset();
        expect(await handler(event, lambdaContext())).toBe('skipped');
        expect({ updates: requests.of('UpdateItem'), total: requests.total() }).toEqual({ updates: 2, total: 2 });
      } finally {
        counting.destroy();
      }
    });

    it('records the marker once when its answer is lost, and runs the body once', async () => {
      const name = fresh();
      const lossy = clientFor(backend);
      let losing = false;
      const fault = loseResponses(lossy, (operation) => losing && operation === 'UpdateItem' && !(losing = false));
      const { stats, work } = counted();
      const handler = middy(async (event: unknown, context: Context) => {
        const result = await work(event, context);
        losing = true; // the next UpdateItem is the release that records the slot
        return result;
      }).use(singleton({ leases: new LeaseClient({ tableName, client: lossy, holderId: 'lossy' }), name, oncePer: { slotMs: HOUR }, skipValue: 'skipped' }));
      const event = scheduledEvent('2026-12-02T10:00:00Z');
      try {
        expect(await handler(event, lambdaContext())).toBe('done');
        expect(fault.dropped()).toBe(1);
        expect(await observer.describe(name)).toMatchObject({ state: 'released', doneRuns: [{ key: '2026-12-02T10:00:00.000Z', fencingToken: 1 }] });
        const later = await Promise.all(Array.from({ length: 20 }, () => handler(event, lambdaContext())));
        expect(later).toEqual(Array(20).fill('skipped'));
        expect(stats.runs).toBe(1);
      } finally {
        lossy.destroy();
      }
    });
  });

  describe('runOnce', () => {
    /** A job that counts its runs; `fail` decides per run whether it throws. */
    const job = (fail: (run: number) => boolean = () => false) => {
      const stats = { runs: 0 };
      const fn = async ({ fencingToken, signal }: RunOnceContext) => {
        const run = ++stats.runs;
        expect(signal.aborted).toBe(false);
        await delay(20);
        if (fail(run)) throw new Error(`run ${run} failed`);
        return fencingToken;
      };
      return { stats, fn };
    };

    it('runs once for 20 concurrent and 20 later calls of one key, the others waiting their turn', async () => {
      const name = fresh();
      const { stats, fn } = job();
      const call = () => runOnce(leases, name, '2026-12-02', fn, { leaseMs: 10_000, waitMs: 20_000 });
      const first = await Promise.all(Array.from({ length: 20 }, call));
      const later = await Promise.all(Array.from({ length: 20 }, call));
      expect(stats.runs).toBe(1);
      const ran = [...first, ...later].filter((result) => result.ran);
      expect(ran).toHaveLength(1);
      const token = ran[0]!.ran ? ran[0]!.value : 0;
      for (const result of [...first, ...later].filter((r) => !r.ran)) expect(result).toEqual({ ran: false, fencingToken: token, doneAt: expect.any(Number) });
      expect((await observer.describe(name))?.doneRuns).toMatchObject([{ key: '2026-12-02', fencingToken: token }]);
    });

    it('leaves the key open after a run that threw, so the retry runs', async () => {
      const name = fresh();
      const { stats, fn } = job((run) => run === 1);
      await expect(runOnce(leases, name, 'k', fn, { leaseMs: 10_000 })).rejects.toThrow('run 1 failed');
      expect(await observer.describe(name)).toMatchObject({ state: 'released', doneRuns: [] });
      expect(await runOnce(leases, name, 'k', fn, { leaseMs: 10_000 })).toEqual({ ran: true, value: 2 });
      expect(await runOnce(leases, name, 'k', fn, { leaseMs: 10_000 })).toMatchObject({ ran: false, fencingToken: 2 });
      expect(stats.runs).toBe(2);
    });

    it('records the key once when the answers of its release are lost, even every resend', async () => {
      const name = fresh();
      const lossy = clientFor(backend);
      let loseOne = false;
      let loseAll = false;
      const lostOne = loseResponses(lossy, (operation) => operation === 'UpdateItem' && loseOne && !(loseOne = false));
      const lostAll = loseEveryAnswer(lossy, (operation) => operation === 'UpdateItem' && loseAll);
      const lossyLeases = new LeaseClient({ tableName, client: lossy, holderId: 'lossy' });
      const { stats, fn } = job();
      try {
        // One lost answer: the resend is refused, and recognises the write that landed.
        const once = await runOnce(lossyLeases, name, 'a', async (context) => ((loseOne = true), fn(context)), { leaseMs: 10_000 });
        expect(once).toEqual({ ran: true, value: 1 });
        expect(lostOne.dropped()).toBe(1);
        // Every answer lost, refusals too: the consistent read after the last resend recognises it.
        const always = await runOnce(lossyLeases, name, 'b', async (context) => ((loseAll = true), fn(context)), { leaseMs: 10_000 });
        loseAll = false;
        expect(always).toEqual({ ran: true, value: 2 });
        expect(lostAll.dropped()).toBe(5);
        expect((await observer.describe(name))?.doneRuns).toMatchObject([
          { key: 'b', fencingToken: 2 },
          { key: 'a', fencingToken: 1 },
        ]);
        for (const key of ['a', 'b']) expect(await runOnce(leases, name, key, fn, { leaseMs: 10_000 })).toMatchObject({ ran: false });
        expect(stats.runs).toBe(2);
      } finally {
        lossy.destroy();
      }
    });

    it('throws LeaseLostError and records nothing when the lease was taken before the run finished', async () => {
      const name = fresh();
      const clock = new ManualClock();
      const slow = new LeaseClient({ tableName, client, holderId: 'slow', clock, skewMs: 0 });
      const other = new LeaseClient({ tableName, client, holderId: 'other', clock, skewMs: 0 });
      const outcome = runOnce(slow, name, 'k', async () => {
        await clock.advance(2_000); // past the lease: another holder takes it
        expect(await other.tryAcquire(name, { leaseMs: 1_000 })).toBeDefined();
        return 'late';
      }, { leaseMs: 1_000 });
      await expect(outcome).rejects.toMatchObject({ name: 'LeaseLostError', reason: 'taken', current: { holderId: 'other' } });
      expect(await observer.describe(name)).toMatchObject({ holderId: 'other', doneRuns: [] });
    });
  });

  it('keeps the markers through acquisitions, renewals, revokes and the reaper', async () => {
    const name = fresh();
    const quick = new LeaseClient({ tableName, client, holderId: 'quick', skewMs: 0 });
    await runOnce(quick, name, 'k', async () => 'ok', { leaseMs: 10_000 });
    const lease = await quick.acquire(name, { leaseMs: 50, data: { v: 1 } });
    await lease.renew({ leaseMs: 50 });
    await delay(100);
    // A minute on, past the minute its expiry fell in: the reaper index finds leases by that minute.
    const reaped = await reapExpiredLeases({ client, tableName, skewMs: 0, clock: new ManualClock({ wallStart: Date.now() + 60_000 }) });
    expect(reaped.reaped).toBeGreaterThanOrEqual(1);
    expect(await observer.describe(name)).toMatchObject({ state: 'expired', doneRuns: [{ key: 'k', fencingToken: 1 }] });
    const next = await observer.acquire(name, { leaseMs: 10_000 });
    expect(next.doneRun('k')).toMatchObject({ key: 'k', fencingToken: 1 });
    expect(await observer.revoke(name, next.fencingToken)).toBe(true);
    expect((await observer.describe(name))?.doneRuns).toMatchObject([{ key: 'k', fencingToken: 1 }]);
  });
});

describe('once-per-slot input', () => {
  const backend = referenceBackend();
  const client = clientFor(backend);
  const tableName = uniqueTableName('once-input');
  const leases = new LeaseClient({ tableName, client });
  const observer = new LeaseClient({ tableName, client });
  beforeAll(() => createLeaseTable(client, tableName));
  afterAll(() => client.destroy());

  it.each([
    ['a zero slot', 'oncePer.slotMs', { slotMs: 0 }],
    ['a negative slot', 'oncePer.slotMs', { slotMs: -60_000 }],
    ['a fractional slot', 'oncePer.slotMs', { slotMs: 1.5 }],
    ['a slot that is not a number', 'oncePer.slotMs', { slotMs: '1h' }],
    ['a key that is not a function', 'oncePer.key', { key: 'nightly' }],
    ['both a slot and a key', 'oncePer', { slotMs: 1_000, key: () => 'k' }],
    ['neither a slot nor a key', 'oncePer', {}],
    ['an unknown option', 'oncePer.every', { every: 60_000 }],
    ['keep 0', 'oncePer.keep', { slotMs: 1_000, keep: 0 }],
    ['keep past the bound', 'oncePer.keep', { slotMs: 1_000, keep: 101 }],
    ['a fractional keep', 'oncePer.keep', { slotMs: 1_000, keep: 2.5 }],
    ['oncePer that is not an object', 'oncePer', 60_000],
  ])('the singleton rejects %s (%s)', (_what, argument, oncePer) => {
    const options = { leases, name: 'job', oncePer } as unknown as Parameters<typeof singleton>[0];
    expect(() => singleton(options)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
  });

  it.each([
    ['an empty key', ''],
    ['a key that is not a string', 42],
    ['a key longer than 255 bytes', 'é'.repeat(128)],
  ])('the singleton fails an invocation whose key function returns %s, storing nothing', async (_what, key) => {
    const name = `bad-key-${crypto.randomUUID()}`;
    let runs = 0;
    const handler = middy(async () => ++runs).use(singleton({ leases, name, oncePer: { key: () => key as string } }));
    await expect(handler({}, lambdaContext())).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'oncePer.key' });
    expect(runs).toBe(0);
    expect(await observer.describe(name)).toBeUndefined();
  });

  it.each([
    ['an empty key', 'key', ['job', '', () => 1, { leaseMs: 1_000 }]],
    ['a key that is not a string', 'key', ['job', 7, () => 1, { leaseMs: 1_000 }]],
    ['an empty name', 'name', ['', 'k', () => 1, { leaseMs: 1_000 }]],
    ['a missing function', 'fn', ['job', 'k', undefined, { leaseMs: 1_000 }]],
    ['a missing leaseMs', 'leaseMs', ['job', 'k', () => 1, {}]],
    ['an unknown option', 'options.retries', ['job', 'k', () => 1, { leaseMs: 1_000, retries: 2 }]],
    ['keep 0', 'options.keep', ['job', 'k', () => 1, { leaseMs: 1_000, keep: 0 }]],
  ])('runOnce rejects %s (%s), storing nothing', async (_what, argument, args) => {
    const [name, key, fn, options] = args as [string, string, () => number, RunOnceOptions];
    await expect(runOnce(leases, name, key, fn, options)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument });
    expect(await observer.describe('job')).toBeUndefined();
  });

  it('rejects a bad key or keep on Lease.releaseDone, keeping the lease held', async () => {
    const lease = await leases.acquire('held-job', { leaseMs: 10_000 });
    expect(() => lease.releaseDone('')).toThrow(expect.objectContaining({ argument: 'key' }));
    expect(() => lease.releaseDone('k', { keep: 0 })).toThrow(expect.objectContaining({ argument: 'options.keep' }));
    expect(lease.isHeld).toBe(true);
    await lease.release();
  });
});

describe('leasehold status', () => {
  const backend = referenceBackend();
  const client = clientFor(backend);
  const tableName = uniqueTableName('once-status');
  beforeAll(() => createLeaseTable(client, tableName));
  afterAll(() => client.destroy());

  it('shows the runs done under a name, newest first, and has them in its JSON', async () => {
    const clock = new ManualClock({ wallStart: Date.parse('2026-12-02T10:00:00Z') });
    const leases = new LeaseClient({ tableName, client, holderId: 'cron', clock });
    for (const day of ['2026-12-01', '2026-12-02']) await runOnce(leases, 'daily-export', day, () => undefined, { leaseMs: 10_000 });
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'bin', 'leasehold.ts'), '--endpoint', backend.endpoint, '--table', tableName, ...args], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        timeout: 20_000,
      });
    expect((await cli('status', 'daily-export')).stdout).toBe(
      'daily-export: released (last holder cron, token 2)\n' +
        '  done 2026-12-02 (token 2, 2026-12-02T10:00:00.000Z)\n' +
        '  done 2026-12-01 (token 1, 2026-12-02T10:00:00.000Z)\n',
    );
    expect(JSON.parse((await cli('--json', 'status', 'daily-export')).stdout)).toMatchObject({
      doneRuns: [{ key: '2026-12-02', fencingToken: 2 }, { key: '2026-12-01', fencingToken: 1 }],
    });
  });
});
