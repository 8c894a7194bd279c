/**
 * Transaction conflicts, which real DynamoDB raises and DynamoDB Local never does: first that the
 * emulation follows AWS's rules on the real server, then that a busy leader survives them. A
 * fenced write puts the lease item in a transaction, so a leader writing in a loop (the README's
 * own pattern) meets them on every renewal unless the library handles them.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeaseTable,
  fencedWrite,
  LeaderElector,
  LeaseClient,
  TransactionConflictError,
  type Lease,
} from '../lib/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { emulateTransactionConflicts } from './support/faults.js';

describe.each(backends())('transaction conflicts on $name', (backend) => {
  const tableName = uniqueTableName('conflicts');
  const admin = clientFor(backend);
  const documents = DynamoDBDocumentClient.from(admin);
  let n = 0;
  const fresh = () => `conflict-${++n}`;
  const ledgerEntry = (name: string, value: number) => ({
    Update: {
      TableName: tableName,
      Key: { name: `${name}/ledger` },
      UpdateExpression: 'ADD entries :one, #total :v',
      ExpressionAttributeNames: { '#total': 'total' },
      ExpressionAttributeValues: { ':one': 1, ':v': value },
    },
  });
  const ledger = async (name: string) =>
    (await documents.send(new GetCommand({ TableName: tableName, Key: { name: `${name}/ledger` }, ConsistentRead: true }))).Item;
  /** A client whose requests wait before they are sent, after the emulation has seen them: they stay "ongoing". */
  const slowClient = (ms: number) => {
    const client = clientFor(backend);
    client.middlewareStack.add((next) => async (args) => (await delay(ms), next(args)), { step: 'finalizeRequest', name: 'testSlow' });
    return client;
  };

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => admin.destroy());

  describe.skipIf(!backend.features.transactions)('the emulation (needs transactions)', () => {
    it('refuses a single write to an item an ongoing transaction includes, and writes nothing', async () => {
      const conflicts = emulateTransactionConflicts();
      const [slow, fast] = [slowClient(300), clientFor(backend)];
      conflicts.attach(slow);
      conflicts.attach(fast);
      const key = { name: `${fresh()}/item` };
      const transaction = DynamoDBDocumentClient.from(slow).send(
        new TransactWriteCommand({ TransactItems: [{ Update: { TableName: tableName, Key: key, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } } }] }),
      );
      await delay(50);
      const single = DynamoDBDocumentClient.from(fast)
        .send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'ADD n :ten', ExpressionAttributeValues: { ':ten': 10 } }))
        .catch((error: unknown) => error);
      expect(await single).toMatchObject({ name: 'TransactionConflictException', $metadata: { httpStatusCode: 400 } });
      await transaction;
      expect(conflicts.counts).toEqual({ writes: 1, transactions: 0 });
      expect((await documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item?.n).toBe(1);
    });

    it('cancels a transaction that meets an ongoing write, naming the item, and writes nothing', async () => {
      const conflicts = emulateTransactionConflicts();
      const [slow, fast] = [slowClient(300), clientFor(backend)];
      conflicts.attach(slow);
      conflicts.attach(fast);
      const [busy, other] = [{ name: `${fresh()}/busy` }, { name: `${fresh()}/other` }];
      const single = DynamoDBDocumentClient.from(slow).send(
        new UpdateCommand({ TableName: tableName, Key: busy, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } }),
      );
      await delay(50);
      const add = (key: object) => ({ Update: { TableName: tableName, Key: key, UpdateExpression: 'ADD n :ten', ExpressionAttributeValues: { ':ten': 10 } } });
      const cancelled = await DynamoDBDocumentClient.from(fast)
        .send(new TransactWriteCommand({ TransactItems: [add(other), add(busy)] }))
        .catch((error: unknown) => error);
      expect(cancelled).toMatchObject({
        name: 'TransactionCanceledException',
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
      });
      await single;
      expect(conflicts.counts).toEqual({ writes: 0, transactions: 1 });
      const read = (key: object) => documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      expect((await read(busy)).Item?.n).toBe(1);
      expect((await read(other)).Item).toBeUndefined();
    });
  });

  describe.skipIf(!backend.features.transactions)('a leader writing fenced in a loop (needs transactions)', () => {
    it('keeps its lease through every renewal, and every write lands', async () => {
      const name = fresh();
      const conflicts = emulateTransactionConflicts();
      const client = clientFor(backend);
      conflicts.attach(client);
      const leases = new LeaseClient({ tableName, client, holderId: 'busy-leader', skewMs: 50 });
      const elector = new LeaderElector({ leases, name, leaseMs: 600, followerWakeMs: 150 });
      const deposed: string[] = [];
      const errors: unknown[] = [];
      elector.on('deposed', ({ reason }) => deposed.push(reason));
      elector.on('error', (error) => errors.push(error));
      let writes = 0;
      let renewalsWhileWriting = 0;
      const running = elector.run(async ({ lease, signal }) => {
        let renewedUntil = lease.validUntil;
        // The README's loop: write while the lease holds.
        while (!signal.aborted && writes < 400) {
          await fencedWrite(lease, [ledgerEntry(name, 1)]);
          writes++;
          if (lease.validUntil !== renewedUntil) {
            renewalsWhileWriting++;
            renewedUntil = lease.validUntil;
          }
        }
        await delay(1_000_000, undefined, { signal }).catch(() => {});
      });
      const started = Date.now();
      while (writes < 400 && Date.now() - started < 20_000 && deposed.length === 0) await delay(20);
      const leadingAtEnd = elector.isLeader;
      const deposedWhileWriting = [...deposed];
      await elector.close();
      await running;
      expect(deposedWhileWriting, `errors: ${errors.map(String).join('; ')}`).toEqual([]);
      expect(leadingAtEnd).toBe(true);
      expect(writes).toBe(400);
      expect(renewalsWhileWriting).toBeGreaterThan(0);
      console.log(`busy leader: ${writes} fenced writes, ${renewalsWhileWriting} renewals between them, ${conflicts.counts.writes + conflicts.counts.transactions} conflicts met`);
      expect(await ledger(name)).toMatchObject({ entries: 400, total: 400 });
    }, 40_000);

    it('resends a fenced write cancelled by another process\'s transaction, and it lands once', async () => {
      const name = fresh();
      let draws = 0;
      // The first two sends meet a transaction this process cannot see; the third goes through.
      const conflicts = emulateTransactionConflicts({ foreignRate: () => (draws++ < 2 ? 1 : 0), random: () => 0 });
      const client = clientFor(backend);
      const lease = (await new LeaseClient({ tableName, client, holderId: 'writer' }).tryAcquire(name, { leaseMs: 30_000 }))!;
      conflicts.attach(client);
      await fencedWrite(lease, [ledgerEntry(name, 7)]);
      expect(conflicts.counts.transactions).toBe(2);
      expect(await ledger(name)).toMatchObject({ entries: 1, total: 7 });
      await lease.release();
    });

    it('reports conflicts that outlast its resends as a retryable TransactionConflictError, not a rejection', async () => {
      const name = fresh();
      const conflicts = emulateTransactionConflicts({ foreignRate: () => 1 });
      const client = clientFor(backend);
      const lease = (await new LeaseClient({ tableName, client, holderId: 'writer' }).tryAcquire(name, { leaseMs: 30_000 }))!;
      conflicts.attach(client);
      const error = await fencedWrite(lease, [ledgerEntry(name, 1)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransactionConflictError);
      expect(error).toMatchObject({ name: 'TransactionConflictError', retryable: true, outcomeUnknown: false });
      expect(await ledger(name)).toBeUndefined();
      expect(lease.isHeld).toBe(true);
    });
  });

  it('renews through conflicts with transactions this process cannot see, within the deadline', async () => {
    const name = fresh();
    let draws = 0;
    // Three refused sends in a row, then one that goes through.
    const conflicts = emulateTransactionConflicts({ foreignRate: () => (draws++ % 4 < 3 ? 1 : 0), random: () => 0 });
    const client = clientFor(backend);
    const lease: Lease = (await new LeaseClient({ tableName, client, holderId: 'holder' }).tryAcquire(name, { leaseMs: 5_000 }))!;
    conflicts.attach(client);
    const before = lease.validUntil;
    await lease.renew();
    expect(conflicts.counts.writes).toBe(3);
    expect(lease.isHeld).toBe(true);
    expect(lease.validUntil).toBeGreaterThan(before);
    await lease.release();
  });
});
