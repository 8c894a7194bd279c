/**
 * The counting semaphore against real DynamoDB servers: at most `limit` holders at any instant,
 * each slot an ordinary lease (so every property of the mutex holds per slot), one request per
 * acquisition while a slot is free, and waiters woken by a release or an expiry.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeaseTable,
  fencedWrite,
  InvalidArgumentError,
  LeaseClient,
  LeaseUnavailableError,
  ManualClock,
  Semaphore,
  systemClock,
  type Lease,
} from '../lib/index.js';
import { singleton, type SingletonContext } from '../lib/serverless/index.js';
import { injectNetworkFaults, throttlingError } from '../lib/testing/faults.js';
import { backends, clientFor, referenceBackend, uniqueTableName } from './support/backends.js';
import { countRequests, landThenThrottle, loseResponses } from './support/faults.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves `clock` on in `stepMs` steps, letting real I/O run between them, until `done()` (at most 200 steps). */
async function advanceUntil(clock: ManualClock, stepMs: number, done: () => boolean): Promise<void> {
  for (let step = 0; step < 200 && !done(); step++) {
    await clock.advance(stepMs);
    await delay(5);
  }
}

/** Counts the requests a client has had an answer (or an error) for. */
function countAnswers(client: DynamoDBClient): () => number {
  let answered = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } finally {
        answered++;
      }
    },
    { step: 'initialize', name: 'testCountAnswers' },
  );
  return () => answered;
}

/** A belief interval, on the holders' shared monotonic clock (`performance.now()`). */
interface Tenure { slot: string; token: number; start: number; end: number }

/** The most intervals that overlap at any instant: ends sort before starts at the same instant. */
function mostAtOnce(tenures: readonly Tenure[]): number {
  const edges = tenures.flatMap((t) => [[t.start, 1], [t.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (now += delta));
  return most;
}

/** Per slot, in the order they began: no two overlap, and each has a larger token than the one before. */
function slotHistoriesAreSequential(tenures: readonly Tenure[]): boolean {
  const bySlot = new Map<string, Tenure[]>();
  for (const t of [...tenures].sort((a, b) => a.start - b.start)) bySlot.set(t.slot, [...(bySlot.get(t.slot) ?? []), t]);
  return [...bySlot.values()].every((history) => history.every((t, i) => i === 0 || (t.start >= history[i - 1]!.end && t.token > history[i - 1]!.token)));
}

describe.each(backends())('Semaphore on $name', (backend) => {
  const tableName = uniqueTableName('semaphore');
  const admin = clientFor(backend);
  let n = 0;
  const fresh = () => `pool-${++n}`;
  const leasesOf = (holderId: string, options: Partial<ConstructorParameters<typeof LeaseClient>[0]> = {}) =>
    new LeaseClient({ tableName, client: clientFor(backend), holderId, ...options });
  const observer = new LeaseClient({ tableName, client: admin, holderId: 'observer' });

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => admin.destroy());

  it('gives exactly 3 of 24 concurrent contenders a slot each, every slot once', async () => {
    const name = fresh();
    const contenders = Array.from({ length: 24 }, (_, i) => new Semaphore({ leases: leasesOf(`c${i}`), name, limit: 3 }));
    const results = await Promise.all(contenders.map((s) => s.tryAcquire({ leaseMs: 30_000 })));
    const winners = results.filter((lease): lease is Lease => lease !== undefined);
    expect(winners).toHaveLength(3);
    expect(winners.map((l) => l.name).sort()).toEqual([name, `${name}[1]`, `${name}[2]`]);
    expect(winners.map((l) => l.fencingToken)).toEqual([1, 1, 1]);
    const slots = await contenders[0]!.describe();
    expect(slots.map((s) => [s.slot, s.name, s.lease?.state])).toEqual([[0, name, 'held'], [1, `${name}[1]`, 'held'], [2, `${name}[2]`, 'held']]);
    expect(slots.map((s) => s.lease?.holderId).sort()).toEqual(winners.map((l) => l.holderId).sort());
  });

  it('acquires with one request while a slot is free, and skips the slots it has learned are busy', async () => {
    const name = fresh();
    const client = clientFor(backend);
    const requests = countRequests(client);
    const mine = new Semaphore({ leases: new LeaseClient({ tableName, client, holderId: 'me' }), name, limit: 4 });
    const first = await mine.tryAcquire({ leaseMs: 30_000 });
    expect(first?.fencingToken).toBe(1);
    expect(requests.of('UpdateItem')).toBe(1);

    for (let i = 0; i < 3; i++) expect(await new Semaphore({ leases: leasesOf(`other-${i}`), name, limit: 4 }).tryAcquire({ leaseMs: 30_000 })).toBeDefined();
    // Every slot is held; its own is never tried, so one pass meets each of the other three once.
    requests.reset();
    expect(await mine.tryAcquire({ leaseMs: 30_000 })).toBeUndefined();
    expect(requests.of('UpdateItem')).toBe(3);

    // Now it knows those three are busy: the slot it released is tried first.
    await first!.release();
    requests.reset();
    const again = await mine.tryAcquire({ leaseMs: 30_000 });
    expect(again).toMatchObject({ name: first!.name, fencingToken: 2 });
    expect(requests.of('UpdateItem')).toBe(1);
    client.destroy();
  });

  it('hands out growing tokens per slot over 200 cycles of release and expiry', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const semaphores = ['a', 'b', 'c', 'd'].map((id) => new Semaphore({ leases: leasesOf(id, { clock, skewMs: 100 }), name, limit: 2 }));
    const held: Lease[] = [];
    const tokens = new Map<string, number[]>();
    for (let cycle = 0; cycle < 200; cycle++) {
      if (held.length === 2) {
        if (cycle % 3 === 0) await clock.advance(1_000 + 100 + 1); // every holder vanishes
        else await held.shift()!.release();
      }
      for (const lease of held.splice(0)) if (lease.isHeld) held.push(lease);
      const lease = await semaphores[cycle % 4]!.tryAcquire({ leaseMs: 1_000 });
      expect(lease, `cycle ${cycle}`).toBeDefined();
      held.push(lease!);
      tokens.set(lease!.name, [...(tokens.get(lease!.name) ?? []), lease!.fencingToken]);
    }
    expect([...tokens.keys()].sort()).toEqual([name, `${name}[1]`]);
    for (const history of tokens.values()) for (let i = 1; i < history.length; i++) expect(history[i]).toBeGreaterThan(history[i - 1]!);
  });

  it('wakes a waiter when a slot is released, and gives it that slot with the next token', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const [a, b] = await Promise.all(['a', 'b'].map((id) => new Semaphore({ leases: leasesOf(id, { clock }), name, limit: 2 }).tryAcquire({ leaseMs: 30_000 })));
    const waiter = new Semaphore({ leases: leasesOf('waiter', { clock, requestTimeoutMs: 30_000 }), name, limit: 2 });
    let won: Lease | undefined;
    const waiting = waiter.acquire({ leaseMs: 60_000, pollMs: 100, waitMs: 60_000 }).then((lease) => (won = lease));
    await b!.release();
    await advanceUntil(clock, 50, () => won !== undefined);
    await waiting;
    expect(won?.name).toBe(b!.name);
    expect(won?.fencingToken).toBe(b!.fencingToken + 1);
    expect(a!.isHeld).toBe(true);
  });

  it('wakes a waiter when a slot expires, sleeping until then rather than polling', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const holders = await Promise.all(
      ['a', 'b'].map((id, i) => new Semaphore({ leases: leasesOf(id, { clock, skewMs: 100 }), name, limit: 2 }).tryAcquire({ leaseMs: 1_000 + i * 100_000 })),
    );
    const client = clientFor(backend);
    const requests = countRequests(client);
    const answers = countAnswers(client);
    // Its requests' own deadlines (on this clock) must outlast the time the test moves on.
    const leases = new LeaseClient({ tableName, client, holderId: 'waiter', clock, skewMs: 100, requestTimeoutMs: 30_000 });
    let won: Lease | undefined;
    const waiting = new Semaphore({ leases, name, limit: 2 }).acquire({ leaseMs: 60_000, pollMs: 60_000, waitMs: 120_000 }).then((lease) => (won = lease));
    // Time stands still until the first pass has its answers (and, on dynalite, its reads).
    const answersPerRefusal = backend.features.returnValuesOnConditionCheckFailure ? 1 : 2;
    while (answers() < 2 * answersPerRefusal) await delay(5);
    await advanceUntil(clock, 50, () => won !== undefined);
    await waiting;
    expect(holders[0]!.isHeld).toBe(false);
    expect(won?.name).toBe(holders[0]!.name);
    expect(won?.fencingToken).toBe(2);
    // One pass that found both slots busy, then one write when the first could be taken.
    expect(requests.of('UpdateItem')).toBe(3);
    client.destroy();
  });

  it('gives up after waitMs with LeaseUnavailableError naming the semaphore and a holder', async () => {
    const name = fresh();
    await new Semaphore({ leases: leasesOf('holder'), name, limit: 1 }).tryAcquire({ leaseMs: 30_000 });
    const error = await new Semaphore({ leases: leasesOf('waiter'), name, limit: 1 }).acquire({ leaseMs: 1_000, waitMs: 60, pollMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseUnavailableError);
    expect(error).toMatchObject({ leaseName: name, holder: { holderId: 'holder', fencingToken: 1 } });
  });

  it('stops waiting when its signal aborts', async () => {
    const name = fresh();
    await new Semaphore({ leases: leasesOf('holder'), name, limit: 1 }).tryAcquire({ leaseMs: 30_000 });
    const stop = new AbortController();
    const waiting = new Semaphore({ leases: leasesOf('waiter'), name, limit: 1 }).acquire({ leaseMs: 1_000, signal: stop.signal });
    setTimeout(() => stop.abort(new Error('shutting down')), 20);
    await expect(waiting).rejects.toThrow('shutting down');
  });

  it('is the mutex of the same name at limit 1, and callers of different limits share the low slots', async () => {
    const name = fresh();
    const mutex = await leasesOf('mutex').tryAcquire(name, { leaseMs: 30_000 });
    expect(await new Semaphore({ leases: leasesOf('one'), name, limit: 1 }).tryAcquire({ leaseMs: 30_000 })).toBeUndefined();
    const two = await new Semaphore({ leases: leasesOf('two'), name, limit: 2 }).tryAcquire({ leaseMs: 30_000 });
    expect(two?.name).toBe(`${name}[1]`);
    expect(await new Semaphore({ leases: leasesOf('two-b'), name, limit: 2 }).tryAcquire({ leaseMs: 30_000 })).toBeUndefined();
    const four = await Promise.all(['x', 'y', 'z'].map((id) => new Semaphore({ leases: leasesOf(id), name, limit: 4 }).tryAcquire({ leaseMs: 30_000 })));
    expect(four.filter(Boolean).map((l) => l!.name).sort()).toEqual([`${name}[2]`, `${name}[3]`]);
    expect(mutex!.isHeld && two!.isHeld).toBe(true);
  });

  it('acquires exactly one slot when the answer to the winning write is lost', async () => {
    const name = fresh();
    const client = clientFor(backend);
    let drops = 1;
    const lost = loseResponses(client, (op) => op === 'UpdateItem' && drops-- > 0);
    const lease = await new Semaphore({ leases: new LeaseClient({ tableName, client, holderId: 'me' }), name, limit: 3 }).tryAcquire({ leaseMs: 30_000 });
    expect(lost.dropped()).toBe(1);
    const held = (await new Semaphore({ leases: observer, name, limit: 3 }).describe()).filter((s) => s.lease?.state === 'held');
    expect(held.map((s) => [s.name, s.lease?.holderId, s.lease?.fencingToken])).toEqual([[lease!.name, 'me', 1]]);
    client.destroy();
  });

  it('acquires exactly one slot when the write landed behind throttled SDK resends', async () => {
    const name = fresh();
    const client = clientFor(backend);
    const fault = landThenThrottle(client, (op) => op === 'UpdateItem');
    const lease = await new Semaphore({ leases: new LeaseClient({ tableName, client, holderId: 'me' }), name, limit: 3 }).tryAcquire({ leaseMs: 30_000 });
    fault.heal();
    expect(fault.landed()).toBe(1);
    expect(fault.throttled()).toBeGreaterThan(0);
    const held = (await new Semaphore({ leases: observer, name, limit: 3 }).describe()).filter((s) => s.lease?.state === 'held');
    expect(held.map((s) => [s.name, s.lease?.holderId])).toEqual([[lease!.name, 'me']]);
    await lease!.release();
    client.destroy();
  });

  it('takes a free slot while the store throttles another (a hot item), and throws only when no slot is won', async () => {
    const name = fresh();
    const client = clientFor(backend, { maxAttempts: 1 });
    let throttled = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: { name?: string | { S?: string } } }).Key?.name;
        if (context.commandName === 'UpdateItemCommand' && (typeof key === 'string' ? key : key?.S) === name) {
          throttled++;
          throw throttlingError();
        }
        return next(args);
      },
      { step: 'initialize', name: 'testHotSlot' },
    );
    // Random 0.5 orders two free slots 0, 1: the hot one is tried first.
    const clock = { ...systemClock, random: () => 0.5 };
    const semaphoreOf = (holderId: string) => new Semaphore({ leases: new LeaseClient({ tableName, client, holderId, clock }), name, limit: 2 });
    const lease = await semaphoreOf('first').tryAcquire({ leaseMs: 30_000 });
    expect(throttled).toBeGreaterThan(0);
    expect(lease?.name).toBe(`${name}[1]`);
    await expect(semaphoreOf('second').tryAcquire({ leaseMs: 30_000 })).rejects.toMatchObject({ name: 'LeaseStoreError', retryable: true });
    client.destroy();
  });

  it('never has more than 3 holders at once among 8 contenders under throttling and lost answers', async () => {
    const name = fresh();
    const tenures: Tenure[] = [];
    const faults: ReturnType<typeof injectNetworkFaults>[] = [];
    const stopAt = performance.now() + 4_000;
    const contender = async (i: number) => {
      const client = clientFor(backend);
      faults.push(injectNetworkFaults(client, () => ({ throttleRate: 0.1, dropRate: 0.1, maxLatencyMs: 20, hiddenRetryRate: 0.05, conflictRate: 0 }), Math.random));
      const semaphore = new Semaphore({ leases: new LeaseClient({ tableName, client, holderId: `c${i}`, skewMs: 50 }), name, limit: 3 });
      while (performance.now() < stopAt) {
        const lease = await semaphore.acquire({ leaseMs: 500, pollMs: 50, waitMs: 2_000 }).catch(() => undefined);
        if (!lease) continue;
        const tenure = { slot: lease.name, token: lease.fencingToken, start: performance.now(), end: Number.POSITIVE_INFINITY };
        tenures.push(tenure);
        // Belief ends at the monotonic deadline; a busy event loop may run this listener later.
        lease.signal.addEventListener('abort', () => (tenure.end = Math.min(tenure.end, performance.now(), lease.validUntil)));
        const stall = Math.random() < 0.3;
        for (let step = 0; step < 3 && lease.isHeld; step++) {
          await delay(50 + Math.random() * 100);
          if (!stall) await lease.renew().catch(() => {});
        }
        if (stall) while (lease.isHeld) await delay(5);
        else await lease.release().catch(() => {});
      }
      client.destroy();
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => contender(i)));
    expect(tenures.length).toBeGreaterThan(10);
    expect(tenures.every((t) => Number.isFinite(t.end))).toBe(true);
    expect(mostAtOnce(tenures)).toBeLessThanOrEqual(3);
    expect(slotHistoriesAreSequential(tenures)).toBe(true);
    const fired = faults.reduce((sum, f) => sum + f.throttled + f.dropped + f.hiddenRetries, 0);
    expect(fired).toBeGreaterThan(0);
  }, 30_000);

  it.skipIf(!backend.features.transactions)('fences writes with a slot lease like any lease (needs transactions)', async () => {
    const name = fresh();
    const lease = await new Semaphore({ leases: leasesOf('writer'), name, limit: 2 }).tryAcquire({ leaseMs: 30_000 });
    await fencedWrite(lease!, [{ Put: { TableName: tableName, Item: { name: `${name}/output`, by: lease!.name } } }]);
    await lease!.release();
    await expect(fencedWrite(lease!, [{ Put: { TableName: tableName, Item: { name: `${name}/output`, by: 'stale' } } }])).rejects.toMatchObject({
      name: 'LeaseLostError',
    });
  });

  describe('the singleton with a limit', () => {
    const lambdaContext = (): Context => ({ functionName: 'job', awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;
    const body = (hold: () => boolean) => {
      const stats = { runs: 0, concurrent: 0, maxConcurrent: 0, slots: new Set<string>() };
      const work = async (_event: unknown, context: Context) => {
        stats.runs++;
        stats.maxConcurrent = Math.max(stats.maxConcurrent, ++stats.concurrent);
        stats.slots.add((context as SingletonContext).lease.name);
        await delay(50);
        while (hold()) await delay(10);
        stats.concurrent--;
        return 'done';
      };
      return { stats, work };
    };

    it('runs 3 bodies of 20 concurrent invocations at limit 3 and skips the rest', async () => {
      const name = fresh();
      let answered = 0;
      const { stats, work } = body(() => answered + stats.runs < 20);
      const handler = middy(work).use(singleton({ leases: leasesOf('lambda'), name, limit: 3, skipValue: 'skipped' }));
      const results = await Promise.all(Array.from({ length: 20 }, () => handler({}, lambdaContext()).finally(() => answered++)));
      expect(stats.runs).toBe(3);
      expect(stats.maxConcurrent).toBe(3);
      expect(results.filter((r) => r === 'skipped')).toHaveLength(17);
      expect([...stats.slots].sort()).toEqual([name, `${name}[1]`, `${name}[2]`]);
      expect((await new Semaphore({ leases: observer, name, limit: 3 }).describe()).map((s) => s.lease?.state)).toEqual(['released', 'released', 'released']);
    });

    it('runs every waiting invocation, at most 2 at a time', async () => {
      const name = fresh();
      const { stats, work } = body(() => false);
      const handler = middy(work).use(singleton({ leases: leasesOf('lambda'), name, limit: 2, onBusy: { waitMs: 20_000 } }));
      const results = await Promise.all(Array.from({ length: 6 }, () => handler({}, lambdaContext())));
      expect(results).toEqual(Array(6).fill('done'));
      expect(stats.maxConcurrent).toBeLessThanOrEqual(2);
    });

    it('throws LeaseUnavailableError naming the semaphore when busy and asked to', async () => {
      const name = fresh();
      let release = false;
      const { work } = body(() => !release);
      const handler = middy(work).use(singleton({ leases: leasesOf('lambda'), name, limit: 2, onBusy: 'throw' }));
      const running = [handler({}, lambdaContext()), handler({}, lambdaContext())];
      while ((await new Semaphore({ leases: observer, name, limit: 2 }).describe()).some((s) => s.lease?.state !== 'held')) await delay(10);
      const error = await handler({}, lambdaContext()).catch((e: unknown) => e);
      release = true;
      await Promise.all(running);
      expect(error).toBeInstanceOf(LeaseUnavailableError);
      expect(error).toMatchObject({ leaseName: name, holder: { holderId: 'lambda' } });
    });
  });
});

describe('Semaphore with bad input', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('semaphore-bad-input');
  const client = clientFor(backend);
  const leases = new LeaseClient({ tableName, client, holderId: 'holder' });
  const table = async () => (await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }))).Items;
  let before: Awaited<ReturnType<typeof table>>;

  beforeAll(async () => {
    await createLeaseTable(client, tableName);
    await new Semaphore({ leases, name: 'pool', limit: 2 }).tryAcquire({ leaseMs: 60_000 });
    before = await table();
  });
  afterAll(async () => {
    expect(await table()).toEqual(before);
    client.destroy();
  });

  const semaphore = (options: object) => () => new Semaphore({ leases, name: 'pool', limit: 2, ...options } as ConstructorParameters<typeof Semaphore>[0]);
  const pool = new Semaphore({ leases, name: 'pool', limit: 2 });
  const cases: [string, string, () => unknown][] = [
    ['a zero limit', 'limit', semaphore({ limit: 0 })],
    ['a fractional limit', 'limit', semaphore({ limit: 1.5 })],
    ['a limit over 100', 'limit', semaphore({ limit: 101 })],
    ['a limit given as a string', 'limit', semaphore({ limit: '2' })],
    ['no limit', 'limit', semaphore({ limit: undefined })],
    ['an empty name', 'name', semaphore({ name: '' })],
    ['a name too long once suffixed', 'name', semaphore({ name: 'x'.repeat(253), limit: 3 })],
    ['a name that is itself a slot name', 'name', semaphore({ name: 'pool[1]' })],
    ['an unknown option', 'options.limt', semaphore({ limt: 3 })],
    ['leases without describe', 'leases', semaphore({ leases: { clock: leases.clock, acquire: () => undefined } })],
    ['an unknown acquire option', 'options.wait', () => pool.tryAcquire({ leaseMs: 1_000, wait: 5 } as { leaseMs: number })],
    ['a zero lease', 'leaseMs', () => pool.tryAcquire({ leaseMs: 0 })],
    ['a negative waitMs', 'waitMs', () => pool.acquire({ leaseMs: 1_000, waitMs: -1 })],
    ['a zero pollMs', 'pollMs', () => pool.acquire({ leaseMs: 1_000, pollMs: 0 })],
    ['a singleton limit of 0', 'limit', () => singleton({ leases, name: 'pool', limit: 0 })],
  ];

  it.each(cases)('rejects %s with InvalidArgumentError(%s)', async (_what, argument, call) => {
    const error: unknown = await Promise.resolve().then(call).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('accepts a name that fills the key exactly once suffixed, and a limit-1 name of full length', () => {
    expect(new Semaphore({ leases, name: 'x'.repeat(252), limit: 3 }).slots.at(-1)).toBe(`${'x'.repeat(252)}[2]`);
    expect(new Semaphore({ leases, name: 'x'.repeat(255), limit: 1 }).slots).toEqual(['x'.repeat(255)]);
  });
});

describe('leasehold status --limit', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('semaphore-cli');
  const client = clientFor(backend);
  const run = promisify(execFile);
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'bin', 'leasehold.ts'), '--endpoint', backend.endpoint, '--table', tableName, ...args], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: '' },
      timeout: 20_000,
    });

  beforeAll(() => createLeaseTable(client, tableName));
  afterAll(() => client.destroy());

  it("shows each slot's holder, token and state, as text and JSON", async () => {
    const leases = new LeaseClient({ tableName, client, holderId: 'worker' });
    await (await leases.tryAcquire('exports[1]', { leaseMs: 60_000 }))!.release();
    await leases.tryAcquire('exports[2]', { leaseMs: 60_000 });
    const text = (await cli('status', 'exports', '--limit', '3')).stdout.split('\n').filter(Boolean);
    expect(text).toHaveLength(3);
    expect(text[0]).toBe('exports: never acquired');
    expect(text[1]).toBe('exports[1]: released (last holder worker, token 1)');
    expect(text[2]).toMatch(/^exports\[2\]: held by worker \(token 1\), expires in /);
    const json = JSON.parse((await cli('--json', 'status', 'exports', '--limit', '3')).stdout) as { slot: number; name: string; lease: { state: string } | null }[];
    expect(json.map((s) => s.name)).toEqual(['exports', 'exports[1]', 'exports[2]']);
    expect(json[0]!.lease).toBeNull();
    expect(json[2]!.lease?.state).toBe('held');
    await expect(cli('status', 'exports', '--limit', '0')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/limit/) });
  }, 60_000);
});
