/**
 * How a LeaderElector's leaderships end: close while a campaign is in flight, resign and close
 * with a drain, and a leader callback that keeps failing. Real DynamoDB servers, real timers.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaderElector, LeaseClient, type Leadership } from '../lib/index.js';
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

describe.each(backends())('LeaderElector lifecycle on $name', (backend) => {
  const tableName = uniqueTableName('lifecycle');
  const admin = clientFor(backend);
  const reader = new LeaseClient({ tableName, client: admin, holderId: 'reader' });
  const running: LeaderElector[] = [];
  let n = 0;
  const fresh = () => `lifecycle-${++n}`;
  const electorFor = (name: string, holderId: string, options: Partial<ConstructorParameters<typeof LeaderElector>[0]> = {}, client = clientFor(backend)) => {
    const elector = new LeaderElector({
      leases: new LeaseClient({ tableName, client, holderId, skewMs: 50 }),
      name,
      leaseMs: 600,
      followerWakeMs: 150,
      ...options,
    });
    running.push(elector);
    return elector;
  };

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(async () => {
    await Promise.all(running.map((e) => e.close()));
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

    it('resolves when called from inside the leader callback, which waits for it', async () => {
      const name = fresh();
      const a = electorFor(name, 'a', { leaseMs: 3_000 });
      let closedInside = false;
      const running = a.run(async () => {
        await a.close();
        closedInside = true;
      });
      expect(await settlesWithin(running, 5_000)).toBe(true);
      await until(() => closedInside);
      expect(await reader.describe(name)).toMatchObject({ holderId: 'a', state: 'released' });
    });
  });
});
