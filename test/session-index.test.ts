/**
 * The session index on every backend: `createLeaseTable` makes it beside the reaper index, it is
 * sparse and lists a group's sessions by name, `verifyLeaseTable` with `sessions: true` insists on
 * it, and tables made before it existed keep working for plain leases.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseAttribute as A, ReaperIndex, SessionIndex } from '../lib/core/schema.js';
import { createLeaseTable, verifyLeaseTable } from '../lib/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

/** The reaper index exactly as `createLeaseTable` has always made it. */
const reaperIndex: GlobalSecondaryIndex = {
  IndexName: ReaperIndex.name,
  KeySchema: [
    { AttributeName: ReaperIndex.partitionKey, KeyType: 'HASH' },
    { AttributeName: ReaperIndex.sortKey, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...ReaperIndex.projectedAttributes] },
};

/** A lease table with the reaper index and, if given, `sessionIndex`: what earlier versions (or a hand-made table) left. */
async function createTableWith(client: DynamoDBClient, tableName: string, sessionIndex?: GlobalSecondaryIndex): Promise<void> {
  const input: CreateTableCommandInput = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: A.name, AttributeType: 'S' },
      { AttributeName: ReaperIndex.partitionKey, AttributeType: 'N' },
      { AttributeName: ReaperIndex.sortKey, AttributeType: 'N' },
      ...(sessionIndex ? [{ AttributeName: SessionIndex.partitionKey, AttributeType: 'S' as const }] : []),
    ],
    KeySchema: [{ AttributeName: A.name, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: sessionIndex ? [reaperIndex, sessionIndex] : [reaperIndex],
  };
  await client.send(new CreateTableCommand(input));
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.05 }, { TableName: tableName });
}

const sessionKeys = [
  { AttributeName: SessionIndex.partitionKey, KeyType: 'HASH' as const },
  { AttributeName: SessionIndex.sortKey, KeyType: 'RANGE' as const },
];

describe.each(backends())('the session index on $name', (backend) => {
  const client = clientFor(backend);
  const made = uniqueTableName('sessions');
  const old = uniqueTableName('sessions-old');
  const describeTable = async (tableName: string) => (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table!;
  const indexesOf = async (tableName: string) => (await describeTable(tableName)).GlobalSecondaryIndexes ?? [];

  beforeAll(async () => {
    await createLeaseTable(client, made);
    await createTableWith(client, old);
  });
  afterAll(() => client.destroy());

  it('is made by createLeaseTable beside the reaper index: keyed by (sessionGroup, name), projecting what members read', async () => {
    const table = await describeTable(made);
    const index = table.GlobalSecondaryIndexes?.find((i) => i.IndexName === SessionIndex.name);
    expect(index?.KeySchema).toEqual(sessionKeys);
    expect(index?.Projection?.ProjectionType).toBe('INCLUDE');
    expect([...(index?.Projection?.NonKeyAttributes ?? [])].sort()).toEqual([...SessionIndex.projectedAttributes].sort());
    expect(table.AttributeDefinitions).toContainEqual({ AttributeName: SessionIndex.partitionKey, AttributeType: 'S' });
    expect((table.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual([ReaperIndex.name, SessionIndex.name].sort());
  });

  it('lists only the sessions of one group that carry it, in name order, with what they published', async () => {
    const put = (name: string, group?: string) =>
      client.send(
        new PutItemCommand({
          TableName: made,
          Item: {
            [A.name]: { S: name },
            [A.state]: { S: group ? 'held' : 'released' },
            [A.fencingToken]: { N: '1' },
            [A.data]: { M: { owns: { N: '3' } } },
            ...(group && { [A.sessionGroup]: { S: group } }),
          },
        }),
      );
    await Promise.all([put('worker-b', 'shards'), put('worker-a', 'shards'), put('worker-c'), put('worker-d', 'queues')]);
    const { Items: items = [] } = await client.send(
      new QueryCommand({
        TableName: made,
        IndexName: SessionIndex.name,
        KeyConditionExpression: '#group = :group',
        ExpressionAttributeNames: { '#group': SessionIndex.partitionKey },
        ExpressionAttributeValues: { ':group': { S: 'shards' } },
      }),
    );
    expect(items.map((item) => item[A.name]?.S)).toEqual(['worker-a', 'worker-b']);
    expect(items[0]).toMatchObject({ [A.state]: { S: 'held' }, [A.data]: { M: { owns: { N: '3' } } } });
  });

  it('is required by verifyLeaseTable and createLeaseTable with sessions: true, and accepted when there', async () => {
    await expect(verifyLeaseTable(client, made, { sessions: true })).resolves.toBeUndefined();
    await expect(createLeaseTable(client, made, { sessions: true })).resolves.toBeUndefined();
  });

  it('is not required of a table made before it existed, which createLeaseTable leaves as it is', async () => {
    const before = await indexesOf(old);
    await expect(verifyLeaseTable(client, old)).resolves.toBeUndefined();
    await expect(verifyLeaseTable(client, old, { sessions: false })).resolves.toBeUndefined();
    await expect(createLeaseTable(client, old)).resolves.toBeUndefined();
    expect(await indexesOf(old)).toEqual(before);
  });

  it('refuses sessions: true on a table without it, naming the index and the fix, and changes nothing', async () => {
    const before = await indexesOf(old);
    const refusal = {
      name: 'TableSchemaMismatchError',
      tableName: old,
      message:
        `Table "${old}" is not a leasehold lease table: it lacks the session index "${SessionIndex.name}" ` +
        `on (${SessionIndex.partitionKey}, ${SessionIndex.sortKey}), which sessions and lease groups need; ` +
        'redeploy the LeaseTable construct of this version, or add the index (UpdateTable) as createLeaseTable makes it. ' +
        'Point tableName at a table made by createLeaseTable or the LeaseTable construct.',
    };
    await expect(verifyLeaseTable(client, old, { sessions: true })).rejects.toMatchObject(refusal);
    await expect(createLeaseTable(client, old, { sessions: true })).rejects.toMatchObject(refusal);
    expect(await indexesOf(old)).toEqual(before);
  });

  it('refuses a session index with other keys', async () => {
    const tableName = uniqueTableName('sessions-keys');
    await createTableWith(client, tableName, {
      IndexName: SessionIndex.name,
      KeySchema: [{ AttributeName: SessionIndex.partitionKey, KeyType: 'HASH' }],
      Projection: { ProjectionType: 'ALL' },
    });
    await expect(verifyLeaseTable(client, tableName)).resolves.toBeUndefined();
    await expect(verifyLeaseTable(client, tableName, { sessions: true })).rejects.toMatchObject({
      name: 'TableSchemaMismatchError',
      message: expect.stringContaining(
        `its session index "${SessionIndex.name}" is keyed by ${SessionIndex.partitionKey} (HASH), ` +
          `expected (${SessionIndex.partitionKey}, ${SessionIndex.sortKey})`,
      ),
    });
  });

  it('refuses a session index that projects only its keys, naming what it lacks', async () => {
    const tableName = uniqueTableName('sessions-keys-only');
    await createTableWith(client, tableName, { IndexName: SessionIndex.name, KeySchema: sessionKeys, Projection: { ProjectionType: 'KEYS_ONLY' } });
    await expect(verifyLeaseTable(client, tableName, { sessions: true })).rejects.toMatchObject({
      name: 'TableSchemaMismatchError',
      message: expect.stringContaining(`does not project ${SessionIndex.projectedAttributes.join(', ')}`),
    });
  });

  it('accepts a session index that projects every attribute', async () => {
    const tableName = uniqueTableName('sessions-all');
    await createTableWith(client, tableName, { IndexName: SessionIndex.name, KeySchema: sessionKeys, Projection: { ProjectionType: 'ALL' } });
    await expect(verifyLeaseTable(client, tableName, { sessions: true })).resolves.toBeUndefined();
  });

  it('rejects a sessions option that is not a boolean with InvalidArgumentError, creating nothing', async () => {
    const tried: string[] = [];
    for (const sessions of ['yes', 1, null]) {
      const tableName = uniqueTableName('bad-sessions');
      tried.push(tableName);
      await expect(createLeaseTable(client, tableName, { sessions } as never)).rejects.toMatchObject({
        name: 'InvalidArgumentError',
        argument: 'sessions',
      });
      await expect(verifyLeaseTable(client, made, { sessions } as never)).rejects.toMatchObject({
        name: 'InvalidArgumentError',
        argument: 'sessions',
      });
    }
    const tableNames = (await client.send(new ListTablesCommand({}))).TableNames ?? [];
    expect(tableNames).toContain(made);
    expect(tableNames.filter((name) => tried.includes(name))).toEqual([]);
  });
});
