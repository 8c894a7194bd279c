/**
 * Every bad input gets a typed error naming the argument, before anything is sent: the stored
 * table is compared byte for byte before and after.
 */
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, fencingCondition, InvalidArgumentError, LeaseClient, verifyLeaseTable, type Lease } from '../lib/index.js';
import { reapExpiredLeases } from '../lib/serverless/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

const [backend] = backends();

describe('LeaseClient with bad input', () => {
  const tableName = uniqueTableName('bad-input');
  const client = clientFor(backend!);
  const leases = new LeaseClient({ tableName, client, holderId: 'holder' });
  let held: Lease;
  const table = async () => (await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }))).Items;
  let before: Awaited<ReturnType<typeof table>>;

  beforeAll(async () => {
    await createLeaseTable(client, tableName);
    held = (await leases.tryAcquire('held', { leaseMs: 60_000, data: { n: 1 } }))!;
    before = await table();
  });
  afterAll(async () => {
    expect(await table()).toEqual(before);
    client.destroy();
  });

  const huge = { blob: 'x'.repeat(400 * 1024) };
  const cases: [string, string, () => unknown][] = [
    ['an empty name', 'name', () => leases.tryAcquire('', { leaseMs: 1_000 })],
    ['a name over 255 bytes', 'name', () => leases.tryAcquire('é'.repeat(128), { leaseMs: 1_000 })],
    ['a name with a control character', 'name', () => leases.tryAcquire('a\nb', { leaseMs: 1_000 })],
    ['a name that is not a string', 'name', () => leases.tryAcquire(42 as unknown as string, { leaseMs: 1_000 })],
    ['a zero lease', 'leaseMs', () => leases.tryAcquire('held', { leaseMs: 0 })],
    ['a negative lease', 'leaseMs', () => leases.tryAcquire('held', { leaseMs: -5 })],
    ['a NaN lease', 'leaseMs', () => leases.tryAcquire('held', { leaseMs: Number.NaN })],
    ['an infinite lease', 'leaseMs', () => leases.tryAcquire('held', { leaseMs: Number.POSITIVE_INFINITY })],
    ['a lease longer than a timer can wait', 'leaseMs', () => leases.tryAcquire('held', { leaseMs: 2 ** 31 })],
    ['a lease given as a string', 'leaseMs', () => leases.tryAcquire('held', { leaseMs: '1000' as unknown as number })],
    ['missing options', 'options', () => leases.tryAcquire('held', undefined as unknown as { leaseMs: number })],
    ['an unknown option', 'options.leaseMS', () => leases.tryAcquire('held', { leaseMs: 1_000, leaseMS: 5 } as { leaseMs: number })],
    ['a payload over the item limit', 'data', () => leases.tryAcquire('fresh', { leaseMs: 1_000, data: huge })],
    ['a payload that is an array', 'data', () => leases.tryAcquire('fresh', { leaseMs: 1_000, data: [] as unknown as Record<string, unknown> })],
    ['a negative waitMs', 'waitMs', () => leases.acquire('held', { leaseMs: 1_000, waitMs: -1 })],
    ['a zero pollMs', 'pollMs', () => leases.acquire('held', { leaseMs: 1_000, pollMs: 0 })],
    ['a renewal with a zero lease', 'leaseMs', () => held.renew({ leaseMs: 0 })],
    ['a renewal with a payload over the item limit', 'data', () => held.renew({ data: huge })],
    ['a renewal with an unknown option', 'options.lease', () => held.renew({ lease: 5 } as unknown as { leaseMs: number })],
    ['describe of an empty name', 'name', () => leases.describe('')],
    ['a fencing condition with an unknown option', 'options.atribute', () => fencingCondition(1, { atribute: 'x' } as { attribute?: string })],
    ['a fencing condition on an empty attribute name', 'options.attribute', () => fencingCondition(1, { attribute: '' })],
    ['a fencing condition on an attribute that is not a string', 'options.attribute', () => fencingCondition(1, { attribute: 7 as unknown as string })],
    ['a fencing condition with a zero token', 'fencingToken', () => fencingCondition(0)],
  ];

  it.each(cases)('rejects %s with InvalidArgumentError(%s)', async (_what, argument, call) => {
    const error: unknown = await Promise.resolve().then(call).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ argument, name: 'InvalidArgumentError' });
    expect((error as Error).message.startsWith(`${argument}: `)).toBe(true);
    expect(held.isHeld).toBe(true);
  });
});

describe('LeaseClient configuration', () => {
  const client = clientFor(backend!);
  afterAll(() => client.destroy());
  const rules: [string, string, Record<string, unknown>][] = [
    ['an empty table name', 'tableName', { tableName: '' }],
    ['a table name DynamoDB would refuse', 'tableName', { tableName: 'a b' }],
    ['a missing client', 'client', { client: undefined }],
    ['a client that is not a DynamoDBClient', 'client', { client: {} }],
    ['an empty holder id', 'holderId', { holderId: '' }],
    ['a negative skew allowance', 'skewMs', { skewMs: -1 }],
    ['an infinite skew allowance', 'skewMs', { skewMs: Number.POSITIVE_INFINITY }],
    ['a drift ratio of one half or more', 'driftRatio', { driftRatio: 0.5 }],
    ['a negative guard', 'guardMs', { guardMs: -1 }],
    ['an unknown option', 'options.skew', { skew: 5 }],
  ];

  it.each(rules)('rejects %s (%s)', (_what, argument, override) => {
    const options = { tableName: 'leases', client, ...override } as ConstructorParameters<typeof LeaseClient>[0];
    expect(() => new LeaseClient(options)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
  });

  it('rejects a lease no longer than the guard, since it would be born expired', async () => {
    const leases = new LeaseClient({ tableName: 'leases', client, guardMs: 500 });
    await expect(leases.tryAcquire('x', { leaseMs: 500 })).rejects.toMatchObject({ argument: 'leaseMs' });
  });
});

describe('table names', () => {
  const client = clientFor(backend!);
  afterAll(() => client.destroy());
  const tableNames = async () => (await client.send(new ListTablesCommand({}))).TableNames ?? [];

  it.each([
    ['createLeaseTable', (name: string) => createLeaseTable(client, name)],
    ['verifyLeaseTable', (name: string) => verifyLeaseTable(client, name)],
    ['reapExpiredLeases', (name: string) => reapExpiredLeases({ client, tableName: name, skewMs: 1_000 })],
  ] as const)('%s refuses a name DynamoDB would refuse with InvalidArgumentError, creating nothing', async (_what, call) => {
    const before = await tableNames();
    for (const name of ['ab', 'a b', '', 'x'.repeat(256)]) {
      await expect(call(name)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'tableName' });
    }
    expect(await tableNames()).toEqual(before);
  });
});

describe('createLeaseTable options', () => {
  const client = clientFor(backend!);
  afterAll(() => client.destroy());
  const tableNames = async () => (await client.send(new ListTablesCommand({}))).TableNames ?? [];

  it.each([
    ['a wait in seconds under the old name', 'options.waitSeconds', { waitSeconds: 60 }],
    ['a fractional wait', 'waitMs', { waitMs: 1.5 }],
    ['a zero wait', 'waitMs', { waitMs: 0 }],
    ['a negative wait', 'waitMs', { waitMs: -1 }],
    ['a wait given as a string', 'waitMs', { waitMs: '60000' }],
  ])('rejects %s with InvalidArgumentError(%s), creating nothing', async (_what, argument, options) => {
    const before = await tableNames();
    const name = uniqueTableName('bad-wait');
    await expect(createLeaseTable(client, name, options as { waitMs?: number })).rejects.toMatchObject({ name: 'InvalidArgumentError', argument });
    expect(await tableNames()).toEqual(before);
  });

  it('waits in ms, also for less than the SDK waiter would first sleep', async () => {
    const name = uniqueTableName('short-wait');
    await createLeaseTable(client, name, { waitMs: 19_000 });
    await expect(verifyLeaseTable(client, name)).resolves.toBeUndefined();
  });
});
