/**
 * The reaper index: what a lease's writes cost in it, that the reaper still finds what expired,
 * and that `verifyLeaseTable` refuses one the reaper cannot use.
 *
 * DynamoDB bills a write that moves an item within a global secondary index twice there (a delete
 * and a put), and one that changes an attribute the index projects once. DynamoDB Local reports
 * this per index exactly as DynamoDB does, so these tests ask the server rather than a model.
 * Renewals are a lease's most frequent write: they must leave the reaper index alone.
 */
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists, type Projection } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, ManualClock, verifyLeaseTable, type Lease } from '../lib/index.js';
import { LeaseAttribute as A, ReaperIndex } from '../lib/core/schema.js';
import { reapExpiredLeases } from '../lib/serverless/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

/** Index write units of each write `client` sends, by index name, as the server reported them. */
function indexUnits(client: DynamoDBClient): { last(): Record<string, number> } {
  let last: Record<string, number> = {};
  client.middlewareStack.add(
    (next) => async (args) => {
      const answer = await next({ ...args, input: { ...(args.input as object), ReturnConsumedCapacity: 'INDEXES' } });
      const consumed = (answer.output as { ConsumedCapacity?: { GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> } }).ConsumedCapacity;
      last = Object.fromEntries(Object.entries(consumed?.GlobalSecondaryIndexes ?? {}).map(([index, { CapacityUnits }]) => [index, CapacityUnits ?? 0]));
      return answer;
    },
    { step: 'initialize', name: 'indexUnits' },
  );
  return { last: () => last };
}

describe.each(backends())('index writes on $name', (backend) => {
  const client = clientFor(backend);
  const units = indexUnits(client);
  const tableName = uniqueTableName('index-writes');
  // A minute boundary, so a lease's expiry can move within a minute.
  const start = Date.UTC(2026, 11, 3, 9);
  beforeAll(() => createLeaseTable(client, tableName));
  afterAll(() => client.destroy());

  const acquire = async (name: string, clock: ManualClock, table = tableName): Promise<Lease> => {
    const lease = await new LeaseClient({ tableName: table, client, holderId: 'holder', clock }).tryAcquire(name, { leaseMs: 5_000 });
    if (!lease) throw new Error(`could not acquire ${name}`);
    return lease;
  };

  // dynalite reports no capacity per index (see `BackendFeatures.indexCapacity`).
  it.skipIf(!backend.features.indexCapacity)('a renewal writes nothing to the reaper index while its expiry stays in the same minute', async () => {
    const clock = new ManualClock({ wallStart: start });
    const lease = await acquire('renewed', clock);
    expect(units.last()).toEqual({ [ReaperIndex.name]: 1 });
    for (let i = 0; i < 10; i++) {
      await clock.advance(2_000);
      await lease.renew();
      expect(units.last(), `renewal ${i + 1}`).toEqual({});
    }
    await lease.release();
    expect(units.last()).toEqual({ [ReaperIndex.name]: 1 });
  });

  it.skipIf(!backend.features.indexCapacity)('a renewal that carries the expiry into the next minute moves the index entry once', async () => {
    const clock = new ManualClock({ wallStart: start + 54_000 });
    const lease = await acquire('crossing', clock);
    await clock.advance(4_000);
    await lease.renew();
    expect(units.last()).toEqual({ [ReaperIndex.name]: 2 });
    await clock.advance(4_000);
    await lease.renew();
    expect(units.last()).toEqual({});
  });

  it('the reaper still finds a lease renewed within its minute, once that minute and the skew have passed', async () => {
    const table = uniqueTableName('index-reaped');
    await createLeaseTable(client, table);
    const clock = new ManualClock({ wallStart: start });
    const lease = await acquire('abandoned', clock, table);
    await clock.advance(3_000);
    await lease.renew();
    const expiresAt = clock.wallNow() + 5_000;
    const reaperClock = new ManualClock({ wallStart: expiresAt + 1_001 });
    const early = await reapExpiredLeases({ client, tableName: table, skewMs: 1_000, clock: reaperClock });
    expect(early.scanned, 'expired, but its minute has not passed').toBe(0);
    await reaperClock.advance(60_000);
    const late = await reapExpiredLeases({ client, tableName: table, skewMs: 1_000, clock: reaperClock });
    expect(late).toMatchObject({ scanned: 1, reaped: 1 });
    expect(late.longestLeaderlessMs, 'measured from the expiry the write found, not the minute').toBe(reaperClock.wallNow() - expiresAt);
  });

  describe('verifyLeaseTable', () => {
    /** A lease table whose reaper index is keyed on (reapShard, `sortKey`) and projects `projection`. */
    const tableWithReaperIndex = async (sortKey: string, projection: Projection): Promise<string> => {
      const name = uniqueTableName('reaper-index-made');
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: A.name, AttributeType: 'S' },
            { AttributeName: ReaperIndex.partitionKey, AttributeType: 'N' },
            { AttributeName: sortKey, AttributeType: 'N' },
          ],
          KeySchema: [{ AttributeName: A.name, KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: ReaperIndex.name,
              KeySchema: [
                { AttributeName: ReaperIndex.partitionKey, KeyType: 'HASH' },
                { AttributeName: sortKey, KeyType: 'RANGE' },
              ],
              Projection: projection,
            },
          ],
        }),
      );
      await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.05 }, { TableName: name });
      return name;
    };
    const projected: Projection = { ProjectionType: 'INCLUDE', NonKeyAttributes: [...ReaperIndex.projectedAttributes] };

    it('refuses a reaper index keyed on expiresAt, as earlier builds made it, naming why and the fix', async () => {
      const name = await tableWithReaperIndex(A.expiresAt, projected);
      await expect(verifyLeaseTable(client, name)).rejects.toMatchObject({
        name: 'TableSchemaMismatchError',
        message: expect.stringMatching(/keyed on \(reapShard, expiresAt\), as earlier builds made it, which every renewal rewrites; recreate the index .* on \(reapShard, reapAfter\)/),
      });
    });

    it('refuses a reaper index that projects only its keys, naming what the reaper reads', async () => {
      const name = await tableWithReaperIndex(A.reapAfter, { ProjectionType: 'KEYS_ONLY' });
      await expect(verifyLeaseTable(client, name)).rejects.toMatchObject({
        name: 'TableSchemaMismatchError',
        message: expect.stringContaining('does not project holderId, fencingToken, which the reaper reads'),
      });
    });

    it('accepts the reaper index as createLeaseTable makes it, and one that projects every attribute', async () => {
      await expect(verifyLeaseTable(client, tableName)).resolves.toBeUndefined();
      await expect(verifyLeaseTable(client, await tableWithReaperIndex(A.reapAfter, { ProjectionType: 'ALL' }))).resolves.toBeUndefined();
    });
  });
});
