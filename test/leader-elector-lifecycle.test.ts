/**
 * How a LeaderElector's leaderships end: close while a campaign is in flight, resign and close
 * with a drain, and a leader callback that keeps failing. Real DynamoDB servers, real timers.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaderElector, LeaseClient, type Leadership } from '../lib/index.js';
import { electorsOn } from './support/electors.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

const until = async (condition: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
};

/** Resolves with whether `promise` settled within `ms`, without failing the test on a hang. */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), delay(ms).then(() => false)]);

/** Holds the client's first UpdateItem (its first acquisition) for `ms` before it is sent. */
function delayFirstUpdate(client: DynamoDBClient, ms: number): { inFlight(): boolean } {
  let seen = 0;
  let inFlight = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'UpdateItemCommand' || seen++ > 0) return next(args);
      inFlight = true;
      try {
        await delay(ms);
        return await next(args);
      } finally {
        inFlight = false;
      }
    },
    { step: 'initialize', name: 'testDelayFirstUpdate' },
  );
  return { inFlight: () => inFlight };
}

describe('LeaderElector resign and close options', () => {
  const [backend] = backends();
  const elector = new LeaderElector({ leases: new LeaseClient({ tableName: 'leases', client: clientFor(backend!) }), name: 'x' });
  const rules: [string, string, unknown][] = [
    ['a negative drain', 'drainMs', { drainMs: -1 }],
    ['a drain that is not a number', 'drainMs', { drainMs: '5' }],
    ['an endless drain', 'drainMs', { drainMs: Infinity }],
    ['an unknown option', 'options.drain', { drain: 5 }],
    ['options that are not an object', 'options', null],
  ];
  it.each(rules)('resign rejects %s (%s)', async (_what, argument, options) => {
    await expect(elector.resign(options as { drainMs?: number })).rejects.toMatchObject({ name: 'InvalidArgumentError', argument });
  });
  it.each(rules)('close rejects %s (%s)', async (_what, argument, options) => {
    await expect(elector.close(options as { drainMs?: number })).rejects.toMatchObject({ name: 'InvalidArgumentError', argument });
  });
});

describe.each(backends())('LeaderElector lifecycle on $name', (backend) => {
  const tableName = uniqueTableName('lifecycle');
  const admin = clientFor(backend);
  const reader = new LeaseClient({ tableName, client: admin, holderId: 'reader' });
  let n = 0;
  const fresh = () => `lifecycle-${++n}`;
  const { electorFor, closeAll } = electorsOn(backend, tableName);

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(async () => {
    await closeAll();
    admin.destroy();
  });

  describe('close() while an acquisition is in flight', () => {
    it('releases the lease it wins at once, never leads, and lets run() resolve', async () => {
      const name = fresh();
      const client = clientFor(backend);
      const acquisition = delayFirstUpdate(client, 200);
      // A lease a busy machine cannot outrun: had this node led, it would still lead at the end.
      const a = electorFor(name, 'a', { leaseMs: 3_000 }, client);
      const elected: Leadership[] = [];
      a.on('elected', (leadership) => elected.push(leadership));
      const running = a.run(async ({ signal }) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      });
      await until(() => acquisition.inFlight());
      await a.close();
      expect(await settlesWithin(running, 5_000)).toBe(true);
      expect(elected).toHaveLength(0);
      expect(a.isLeader).toBe(false);
      expect(await reader.describe(name)).toMatchObject({ holderId: 'a', fencingToken: 1, state: 'released' });
    });

    it('resolves when called from inside the leader callback with no drain (the callback cannot settle first)', async () => {
      const name = fresh();
      const a = electorFor(name, 'a', { leaseMs: 3_000 });
      let closedInside = false;
      const running = a.run(async () => {
        await a.close({ drainMs: 0 });
        closedInside = true;
      });
      expect(await settlesWithin(running, 2_000)).toBe(true);
      await until(() => closedInside);
      expect(await reader.describe(name)).toMatchObject({ holderId: 'a', state: 'released' });
    });
  });

  describe('resign() and close() drain the leader callback', () => {
    // Leases a busy machine cannot outrun: a drain must end by the test's doing, not by expiry.
    const timing = { leaseMs: 1_500, followerWakeMs: 300 };
    /** Leads with `a`; `lead` runs `onStop` once its signal aborts. Records the order things happened in. */
    const leadWithContender = async (name: string, onStop: (leadership: Leadership) => Promise<void>) => {
      const log: string[] = [];
      const a = electorFor(name, 'a', timing);
      let leadership: Leadership | undefined;
      a.on('deposed', () => log.push('a deposed'));
      const running = a.run(async (given) => {
        leadership = given;
        await new Promise((resolve) => given.signal.addEventListener('abort', resolve));
        log.push('a told to stop');
        await onStop(given);
        log.push('a settled');
      });
      await until(() => leadership !== undefined);
      const b = electorFor(name, 'b', timing);
      b.on('elected', () => log.push('b elected'));
      void b.run(async ({ signal }) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      });
      await delay(300);
      return { a, b, leadership: leadership!, log, running };
    };

    it('keeps the lease held and renewed while lead finishes, then releases it at once', async () => {
      const name = fresh();
      let drainSeen: Awaited<ReturnType<LeaseClient['describe']>>;
      let expiresAtWhenTold = 0;
      // `lead` goes on for longer than a lease after it is told to stop: only renewals keep b out.
      const { a, b, leadership, log } = await leadWithContender(name, async () => {
        expiresAtWhenTold = (await reader.describe(name))!.expiresAt;
        await delay(2_000);
        drainSeen = await reader.describe(name);
      });
      const resigning = a.resign({ drainMs: 20_000 });
      expect(leadership.signal.aborted).toBe(true);
      expect(leadership.signal.reason).toMatchObject({ name: 'LeaseLostError', reason: 'released', fencingToken: leadership.fencingToken });
      expect(leadership.lease.signal.aborted).toBe(false);
      await resigning;
      expect(drainSeen!).toMatchObject({ holderId: 'a', fencingToken: leadership.fencingToken, state: 'held' });
      expect(drainSeen!.expiresAt).toBeGreaterThan(expiresAtWhenTold);
      expect(log.slice(0, 3)).toEqual(['a told to stop', 'a settled', 'a deposed']);
      expect(await reader.describe(name)).toMatchObject({ holderId: 'a', state: 'released' });
      await until(() => b.isLeader);
      expect(log).toEqual(['a told to stop', 'a settled', 'a deposed', 'b elected']);
      expect(b.leader()!.fencingToken).toBe(leadership.fencingToken + 1);
    });

    it('cuts off a lead that never settles after drainMs, one lease by default', async () => {
      const name = fresh();
      const { a, b, log } = await leadWithContender(name, () => new Promise(() => {}));
      const startedAt = performance.now();
      await a.resign();
      const drainedMs = performance.now() - startedAt;
      // Only a lower bound: a busy machine makes every wait longer, never shorter.
      expect(drainedMs).toBeGreaterThanOrEqual(timing.leaseMs - 50);
      expect(await reader.describe(name)).toMatchObject({ holderId: 'a', state: 'released' });
      await until(() => b.isLeader);
      expect(log).toEqual(['a told to stop', 'a deposed', 'b elected']);
    });

    it('lets run() resolve after close() cuts off a lead that never settles', async () => {
      const name = fresh();
      const { a, running } = await leadWithContender(name, () => new Promise(() => {}));
      await a.close({ drainMs: 200 });
      expect(await settlesWithin(running, 5_000)).toBe(true);
      expect(a.isLeader).toBe(false);
      expect(await reader.describe(name)).toMatchObject({ holderId: 'a', state: 'released' });
    });
  });

  describe('a leader callback that keeps failing', () => {
    it('is re-elected ever more slowly, and a healthy follower takes over', async () => {
      const name = fresh();
      const a = electorFor(name, 'a');
      let wins = 0;
      const errors: Error[] = [];
      a.on('error', (error) => errors.push(error));
      void a.run(async () => {
        wins++;
        throw new Error('cannot start');
      });
      // Counted from the first win, so a slow first request does not shorten the window.
      await until(() => wins > 0);
      await delay(1_500);
      const winsAlone = wins;
      console.log(`failing leader alone: ${winsAlone} wins in 1.5 s`);
      // Sit-outs of 225, 450, 900 ms (a resign window, doubling) allow 3 wins; no backoff allows dozens.
      expect(winsAlone).toBeGreaterThanOrEqual(2);
      expect(winsAlone).toBeLessThanOrEqual(5);
      expect(errors.map((e) => e.message)).toEqual(Array(winsAlone).fill('cannot start'));

      const b = electorFor(name, 'b', { leaseMs: 1_500 });
      void b.run(async ({ signal }) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      });
      await until(() => b.isLeader);
      const winsWhenTakenOver = wins;
      await delay(1_000);
      expect(b.isLeader).toBe(true);
      expect(wins).toBe(winsWhenTakenOver);
    });
  });
});
