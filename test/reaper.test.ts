/**
 * The reaper engine on real DynamoDB servers: it reaps exactly the expired leases through the
 * sparse index, stops when told and finishes on the next run, and never undoes a renewal.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, ManualClock } from '../lib/index.js';
import { LeaseAttribute as A, reapAfterOf, reapShardOf } from '../lib/core/schema.js';
import { eventBridgePublisher, reapExpiredLeases, type LeaseExpiredDetail } from '../lib/serverless/index.js';
import { backends, clientFor, uniqueTableName, type Backend } from './support/backends.js';
import { skewed } from './support/faults.js';
import { recordingEventBridge } from './support/event-bridge.js';

/** Writes held leases straight into the table in the stored format, 25 per request. */
async function seed(client: DynamoDBClient, tableName: string, leases: { name: string; expiresAt: number }[]): Promise<void> {
  const items = leases.map(({ name, expiresAt }) =>
    marshall({
      [A.name]: name,
      [A.holderId]: `holder-of-${name}`,
      [A.fencingToken]: 1,
      [A.leaseMs]: 30_000,
      [A.expiresAt]: expiresAt,
      [A.revision]: randomUUID(),
      [A.state]: 'held',
      [A.acquiredAt]: expiresAt - 30_000,
      [A.updatedAt]: expiresAt - 30_000,
      [A.reapShard]: reapShardOf(name),
      [A.reapAfter]: reapAfterOf(expiresAt),
    }),
  );
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  const worker = async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
        pending = (UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function scanAll(client: DynamoDBClient, tableName: string): Promise<Record<string, unknown>[]> {
  const documents = DynamoDBDocumentClient.from(client);
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** dynalite answers index queries far slower than DynamoDB Local: the large case is scaled down there. */
const sizeFor = (backend: Backend) => (backend.name === 'dynalite' ? { total: 2_000, expired: 200 } : { total: 10_000, expired: 1_000 });

describe.each(backends())('reapExpiredLeases on $name', (backend) => {
  const client = clientFor(backend);
  const now = Date.UTC(2026, 10, 22, 12);
  const clock = new ManualClock({ wallStart: now });
  afterAll(() => client.destroy());

  describe('on a large table', () => {
    const tableName = uniqueTableName('reaper');
    const { total, expired } = sizeFor(backend);
    const leases = Array.from({ length: total }, (_, i) => ({
      name: `lease-${i}`,
      // Every tenth lease expired long ago; the rest are live, some expiring within the skew allowance.
      expiresAt: i % (total / expired) === 0 ? now - 60_000 - i : now - 500 + (i % 1_000) * 60,
    }));
    const expiredNames = new Set(leases.filter((l) => l.expiresAt < now - 1_000).map((l) => l.name));

    beforeAll(async () => {
      await createLeaseTable(client, tableName);
      await seed(client, tableName, leases);
    }, 120_000);

    it('stops when told, then the next run reaps the rest; exactly the expired leases end up expired', async () => {
      const events = recordingEventBridge();
      const publisher = eventBridgePublisher({ client: events.client });
      let checks = 0;
      const first = await reapExpiredLeases({
        client,
        tableName,
        skewMs: 1_000,
        clock,
        publisher,
        shouldStop: () => ++checks > 5,
      });
      expect(first.stoppedEarly).toBe(true);
      expect(first.reaped).toBeGreaterThan(0);
      expect(first.reaped).toBeLessThan(expired);

      const started = performance.now();
      const second = await reapExpiredLeases({ client, tableName, skewMs: 1_000, clock, publisher });
      const seconds = (performance.now() - started) / 1_000;
      console.log(`${backend.name}: reaped ${second.reaped} of ${total} leases in ${seconds.toFixed(2)} s (${Math.round(second.reaped / seconds)}/s)`);
      expect(second).toMatchObject({ stoppedEarly: false, raced: 0, skipped: 0, eventsFailed: 0 });
      expect(first.reaped + second.reaped).toBe(expired);

      const items = await scanAll(client, tableName);
      const nowExpired = items.filter((item) => item[A.state] === 'expired').map((item) => item[A.name]);
      expect(new Set(nowExpired)).toEqual(expiredNames);
      for (const item of items) {
        expect(item[A.reapShard] === undefined, `${String(item[A.name])} left the index iff reaped`).toBe(item[A.state] === 'expired');
        expect(item[A.fencingToken]).toBe(1);
      }
      const published = events.detailsOf('Lease Expired') as LeaseExpiredDetail[];
      expect(published.map((e) => e.name).sort()).toEqual([...expiredNames].sort());
      expect(published[0]).toMatchObject({ holderId: `holder-of-${published[0]!.name}`, fencingToken: 1 });
      expect(events.calls().every((entries) => entries <= 10)).toBe(true);

      const third = await reapExpiredLeases({ client, tableName, skewMs: 1_000, clock });
      expect(third).toMatchObject({ scanned: 0, reaped: 0 });
    }, 120_000);
  });

  it('never undoes a renewal that lands between its read and its write', async () => {
    const tableName = uniqueTableName('reaper-race');
    await createLeaseTable(client, tableName);
    const holderClock = new ManualClock({ wallStart: now });
    const lease = await new LeaseClient({ tableName, client, holderId: 'holder', clock: holderClock }).tryAcquire('busy', { leaseMs: 5_000 });
    const racing = clientFor(backend);
    let renewedFirst = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand' && !renewedFirst) {
          renewedFirst = true;
          // Long enough to carry the expiry past the reaper's cutoff.
          await lease!.renew({ leaseMs: 10 * 60_000 });
        }
        return next(args);
      },
      { step: 'initialize', name: 'renewBeforeReap' },
    );
    // The reaper's wall clock runs two minutes ahead: to it the lease looks long expired.
    const summary = await reapExpiredLeases({ client: racing, tableName, skewMs: 1_000, clock: skewed(holderClock, 120_000) });
    expect(summary).toMatchObject({ scanned: 1, reaped: 0, raced: 1 });
    expect(await new LeaseClient({ tableName, client, clock: holderClock }).describe('busy')).toMatchObject({ state: 'held', holderId: 'holder' });
    expect(lease!.isHeld).toBe(true);
    racing.destroy();
  });

  it('cannot let a contender in early, whatever skew it was run with: a reaped lease is taken by the holder-expiry rule', async () => {
    const tableName = uniqueTableName('reaper-skew');
    await createLeaseTable(client, tableName);
    // The lease's expiry falls a second before a minute boundary, so the reaper index finds it as
    // soon as a reaper with no allowance judges it expired.
    const realTime = new ManualClock({ wallStart: now - 7_000 });
    // The holder's wall clock runs 4 s slow, within the clients' 5 s allowance; the reaper was
    // given no allowance at all.
    const holder = await new LeaseClient({ tableName, client, holderId: 'holder', clock: skewed(realTime, -4_000), skewMs: 5_000 })
      .tryAcquire('slow-clock', { leaseMs: 10_000 });
    const contender = new LeaseClient({ tableName, client, holderId: 'contender', clock: realTime, skewMs: 5_000 });
    await realTime.advance(7_500);
    const summary = await reapExpiredLeases({ client, tableName, skewMs: 0, clock: realTime });
    expect(summary).toMatchObject({ reaped: 1 });
    expect(holder!.isHeld).toBe(true);
    expect(await contender.tryAcquire('slow-clock', { leaseMs: 10_000 })).toBeUndefined();
    const { lease, takeableInMs } = await contender.peek('slow-clock', { consistent: true });
    expect(lease?.state).toBe('expired');
    expect(takeableInMs).toBeGreaterThan(0);
    // Takeable by the same rule as a held lease: past expiresAt + the contender's own allowance.
    await realTime.advance(takeableInMs);
    expect(holder!.isHeld).toBe(false);
    const taken = await contender.tryAcquire('slow-clock', { leaseMs: 10_000 });
    expect(taken?.fencingToken).toBe(2);
  });
});

describe('eventBridgePublisher', () => {
  it('resends only the entries EventBridge reports as failed', async () => {
    const events = recordingEventBridge({ failFirst: 3 });
    const details = Array.from({ length: 12 }, (_, i) => ({ name: `l${i}`, holderId: 'h', fencingToken: i + 1, expiredAt: 0 }));
    const { failed } = await eventBridgePublisher({ client: events.client }).publish(details);
    expect(failed).toBe(0);
    expect(events.calls()).toEqual([10, 2, 3]);
    expect((events.detailsOf('Lease Expired') as LeaseExpiredDetail[]).map((d) => d.name).sort()).toEqual(details.map((d) => d.name).sort());
  });

  it('reports entries still failing after the last attempt', async () => {
    const events = recordingEventBridge({ failFirst: 1_000 });
    const { failed } = await eventBridgePublisher({ client: events.client, attempts: 2 }).publish([
      { name: 'x', holderId: 'h', fencingToken: 1, expiredAt: 0 },
    ]);
    expect(failed).toBe(1);
    expect(events.calls()).toEqual([1, 1]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown option', { bus: 'leases' }, 'options.bus'],
    ['zero attempts', { attempts: 0 }, 'attempts'],
    ['fractional attempts', { attempts: 1.5 }, 'attempts'],
  ])('rejects %s', (_what, options, argument) => {
    const events = recordingEventBridge();
    expect(() => eventBridgePublisher({ client: events.client, ...options })).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', argument }),
    );
  });

});
