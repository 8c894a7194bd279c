/**
 * Sessions against real DynamoDB servers: one session lease keeps many leases; a lease owned by a
 * session has no expiry of its own and is taken from a dead session only by a transaction that
 * checks the session's expiry by the contender rule; tokens keep growing per lease name; a dead
 * holder's signal fires before anyone can take its leases; a take whose answer was lost is
 * recognised by its nonce.
 */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, fencedWrite, FencedWriteRejectedError, InvalidArgumentError, LeaseClient, LeaseLostError, LeaseUnavailableError, ManualClock } from '../lib/index.js';
import { LeaseStore } from '../lib/core/lease-store.js';
import { Session } from '../lib/session/session.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { cutOff, emulateTransactionConflicts, landThenThrottle, loseResponses } from './support/faults.js';
import { rawItem } from './support/items.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves `clock` on in `stepMs` steps, letting real I/O run between them, until `done()` (at most 400 steps). */
async function advanceUntil(clock: ManualClock, stepMs: number, done: () => boolean | Promise<boolean>): Promise<void> {
  for (let step = 0; step < 400 && !(await done()); step++) {
    await clock.advance(stepMs);
    await delay(5);
  }
}

describe.each(backends())('sessions on $name', (backend) => {
  let client: DynamoDBClient;
  let tableName: string;
  const opened: Session[] = [];

  beforeAll(async () => {
    client = clientFor(backend);
    tableName = uniqueTableName('sessions');
    await createLeaseTable(client, tableName);
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((session) => session.close()));
    client.destroy();
  });

  async function open(group: string, options: { clock?: ManualClock; client?: DynamoDBClient; id?: string } = {}) {
    const leases = new LeaseClient({ tableName, client: options.client ?? client, ...(options.clock && { clock: options.clock }) });
    const session = await Session.open({ leases, group, leaseMs: 3_000, ...(options.id && { id: options.id }) });
    // A session on a manual clock would wait forever on its release's back-off once cut off.
    if (!options.clock) opened.push(session);
    return session;
  }

  it('opens a session its group sees alive, under the group in the session index', async () => {
    const session = await open('seen');
    const members = await session.members();
    expect(members.map((m) => m.session)).toEqual([session.name]);
    expect(members[0]).toMatchObject({ alive: true, generation: session.generation, holderId: expect.any(String) });
    expect(session.name).toBe(`seen#session#${session.id}`);
    await session.close();
    expect(await session.members()).toEqual([]);
  });

  it('takes a free lease in one write; a held one is refused; after a release another session takes it with a larger token', async () => {
    const a = await open('free');
    const b = await open('free');
    const lease = await a.tryAcquire('free-1');
    expect(lease?.fencingToken).toBe(1);
    expect(lease?.owner).toEqual({ session: a.name, generation: a.generation });
    expect(await b.tryAcquire('free-1')).toBeUndefined();
    await lease!.release();
    expect(lease!.signal.aborted).toBe(true);
    const next = await b.tryAcquire('free-1');
    expect(next?.fencingToken).toBe(2);
    expect(b.owned().map((l) => l.name)).toEqual(['free-1']);
  });

  it('stores the owner on the lease and no expiry of its own, so neither a plain contender nor the reaper index can judge it', async () => {
    const clock = new ManualClock();
    const session = await open('plain', { clock });
    const lease = await session.tryAcquire('plain-1');
    const item = await rawItem(client, tableName, 'plain-1');
    expect(item?.ownerSession?.S).toBe(session.name);
    expect(item?.sessionGeneration?.N).toBe(String(session.generation));
    expect(item?.expiresAt).toBeUndefined();
    expect(item?.reapShard).toBeUndefined();
    // A plain contender that watched the revision stand still for far longer than any lease
    // still may not take it: the revision of a session-owned lease never moves on renewal.
    const plain = new LeaseClient({ tableName, client, clock });
    expect(await plain.tryAcquire('plain-1', { leaseMs: 1_000 })).toBeUndefined();
    await advanceUntil(clock, 500, () => clock.wallNow() > 10_000 + 0);
    expect(await plain.tryAcquire('plain-1', { leaseMs: 1_000 })).toBeUndefined();
    expect(lease!.isHeld).toBe(true);
    const described = await plain.describe('plain-1');
    expect(described?.owner).toEqual({ session: session.name, generation: session.generation });
    expect(described?.state).toBe('held');
  });

  it.skipIf(!backend.features.transactions)(
    'takes the leases of a dead session in one transaction, with larger tokens, only after the dead holder stopped believing',
    async () => {
      const clock = new ManualClock();
      let aDown = false;
      const aClient = clientFor(backend);
      cutOff(aClient, () => aDown);
      const a = await open('dead', { clock, client: aClient });
      const b = await open('dead', { clock });
      const names = ['dead-1', 'dead-2', 'dead-3'];
      const owned = await Promise.all(names.map((name) => a.tryAcquire(name)));
      const lostAt = new Map<string, number>();
      for (const lease of owned) lease!.signal.addEventListener('abort', () => lostAt.set(lease!.name, clock.wallNow()));
      expect(await b.tryAcquire('dead-1')).toBeUndefined();
      aDown = true;
      let takenAt = 0;
      const taken = new Map<string, number>();
      await advanceUntil(clock, 250, async () => {
        for (const name of names) {
          if (taken.has(name)) continue;
          const lease = await b.tryAcquire(name);
          if (lease) {
            taken.set(name, lease.fencingToken);
            takenAt ||= clock.wallNow();
          }
        }
        return taken.size === names.length;
      });
      expect([...taken.values()]).toEqual([2, 2, 2]);
      expect(lostAt.size).toBe(3);
      for (const at of lostAt.values()) expect(at).toBeLessThan(takenAt);
      expect(a.isHeld).toBe(false);
      aClient.destroy();
    },
  );

  it.skipIf(!backend.features.transactions)('takes many leases of a dead session in batches, and none of a live one', async () => {
    const clock = new ManualClock();
    let aDown = false;
    const aClient = clientFor(backend);
    cutOff(aClient, () => aDown);
    const a = await open('batch', { clock, client: aClient });
    const b = await open('batch', { clock });
    const names = Array.from({ length: 120 }, (_, i) => `batch-${i}`);
    const first = await a.take(names.map((name) => ({ name, from: undefined })));
    expect(first.taken).toHaveLength(120);
    expect(new Set(first.taken.map((l) => l.fencingToken))).toEqual(new Set([1]));
    const from = { session: a.name, generation: a.generation };
    const refused = await b.take(names.map((name) => ({ name, from })));
    expect(refused.taken).toEqual([]);
    expect([...refused.aliveOwners]).toEqual([a.name]);
    aDown = true;
    await advanceUntil(clock, 250, () => !a.isHeld);
    await advanceUntil(clock, 250, () => clock.wallNow() > a.lease.expiresAt + 1_000);
    const second = await b.take(names.map((name) => ({ name, from })));
    expect(second.taken).toHaveLength(120);
    expect(new Set(second.taken.map((l) => l.fencingToken))).toEqual(new Set([2]));
    aClient.destroy();
  });

  it('recognises its own single take after the answer was lost', async () => {
    const lossy = clientFor(backend);
    let drop = false;
    const lost = loseResponses(lossy, (operation) => operation === 'UpdateItem' && drop && !(drop = false));
    const session = await open('lossy-one', { client: lossy });
    drop = true;
    const lease = await session.tryAcquire('lossy-one-1');
    expect(lost.dropped()).toBe(1);
    expect(lease?.fencingToken).toBe(1);
    expect((await rawItem(client, tableName, 'lossy-one-1'))?.ownerSession?.S).toBe(session.name);
    lossy.destroy();
  });

  it.skipIf(!backend.features.transactions)('recognises its own transaction after the answer was lost', async () => {
    const lossy = clientFor(backend);
    let drop = false;
    const lost = loseResponses(lossy, (operation) => operation === 'TransactWriteItems' && drop && !(drop = false));
    const session = await open('lossy-many', { client: lossy });
    drop = true;
    const result = await session.take(['m-1', 'm-2'].map((name) => ({ name: `lossy-many-${name}`, from: undefined })));
    expect(lost.dropped()).toBe(1);
    expect(result.taken.map((l) => l.fencingToken)).toEqual([1, 1]);
    lossy.destroy();
  });

  it.skipIf(!backend.features.transactions)('finds by its nonce a take the SDK resent behind throttling, whose first send landed', async () => {
    const retried = clientFor(backend, { maxAttempts: 2 });
    const session = await open('retried', { client: retried });
    const fault = landThenThrottle(retried, (operation) => operation === 'TransactWriteItems');
    const names = ['r-1', 'r-2'].map((name) => `retried-${name}`);
    const result = await session.take(names.map((name) => ({ name, from: undefined })));
    expect(fault.landed()).toBe(1);
    expect(fault.throttled()).toBeGreaterThan(1);
    expect(result.taken.map((l) => [l.name, l.fencingToken])).toEqual(names.map((name) => [name, 1]));
    fault.heal();
    retried.destroy();
  }, 60_000);

  it.skipIf(!backend.features.transactions)('fences writes with an owned lease as with any lease: a stale one is refused', async () => {
    const a = await open('fence');
    const b = await open('fence');
    const documents = DynamoDBDocumentClient.from(client);
    const lease = await a.tryAcquire('fence-1');
    await fencedWrite(lease!, [{ Put: { TableName: tableName, Item: { name: 'fence-target', value: 1 } } }]);
    // A stale holder: the lease was released and taken by another session since.
    await lease!.release();
    const newer = await b.tryAcquire('fence-1');
    expect(newer?.fencingToken).toBe(2);
    await expect(fencedWrite(lease!, [{ Put: { TableName: tableName, Item: { name: 'fence-target', value: 2 } } }])).rejects.toBeInstanceOf(LeaseLostError);
    await documents.send(new PutCommand({ TableName: tableName, Item: { name: 'fence-target', value: 3 } }));
    await fencedWrite(newer!, [{ Put: { TableName: tableName, Item: { name: 'fence-target', value: 4 } } }]);
    // The stale token fails the check in the table too, not only in this process.
    const store = new LeaseStore(client, tableName);
    await expect(
      store.writeFenced({ name: 'fence-1', holderId: lease!.holderId, fencingToken: 1 }, [{ Put: { TableName: tableName, Item: { name: 'fence-target', value: 5 } } }]),
    ).rejects.toBeInstanceOf(FencedWriteRejectedError);
  });

  it('close releases every owned lease, then the session, so others take them at once', async () => {
    const a = await open('close');
    const b = await open('close');
    const leases = await Promise.all(['close-1', 'close-2'].map((name) => a.tryAcquire(name)));
    await a.close();
    expect(leases.every((lease) => lease!.signal.aborted)).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect((await b.tryAcquire('close-1'))?.fencingToken).toBe(2);
    expect((await b.tryAcquire('close-2'))?.fencingToken).toBe(2);
    expect((await b.members()).map((m) => m.session)).toEqual([b.name]);
  });

  it('loses every owned lease, and says so, when the session cannot be renewed in time', async () => {
    const clock = new ManualClock();
    let down = false;
    const flaky = clientFor(backend);
    cutOff(flaky, () => down);
    const session = await open('lost', { clock, client: flaky });
    const lease = await session.tryAcquire('lost-1');
    const events: LeaseLostError[] = [];
    session.on('lost', (error) => events.push(error));
    down = true;
    await advanceUntil(clock, 250, () => events.length > 0);
    expect(lease!.signal.aborted).toBe(true);
    expect((lease!.signal.reason as LeaseLostError).reason).toBe('expired');
    expect(events[0]?.reason).toBe('expired');
    flaky.destroy();
  });

  it.skipIf(!backend.features.transactions)(
    "keeps its session and takes through DynamoDB's transaction conflicts, which the emulator never raises",
    async () => {
      const clock = new ManualClock();
      // Every third write meets another process's transaction: a fixed pattern, so the count
      // below does not hang on random draws (a rate of 0.3 drew a single conflict in one CI run).
      let draws = 0;
      const conflicts = emulateTransactionConflicts({ foreignRate: () => (draws++ % 3 === 0 ? 1 : 0), random: () => 0 });
      const busy = clientFor(backend);
      const session = await open('conflicts', { clock, client: busy });
      conflicts.attach(busy);
      // Resends back off on the session's clock: move it on while they are in flight.
      let settled = false;
      const taking = Promise.all([
        session.tryAcquire('conflicts-1'),
        session.take(['c-2', 'c-3', 'c-4'].map((name) => ({ name: `conflicts-${name}`, from: undefined }))),
      ]).finally(() => (settled = true));
      await advanceUntil(clock, 20, () => settled);
      const [lease, batch] = await taking;
      // Several lease periods of renewals, a third of them meeting another process's transaction.
      const until = clock.wallNow() + 8 * session.leaseMs;
      await advanceUntil(clock, 200, () => clock.wallNow() > until);
      expect(conflicts.counts.writes + conflicts.counts.transactions).toBeGreaterThan(5);
      expect(session.isHeld).toBe(true);
      expect(lease!.isHeld).toBe(true);
      expect(batch.taken.map((l) => l.fencingToken)).toEqual([1, 1, 1]);
      busy.destroy();
    },
  );

  it('marks a dead member expired so it leaves the session index, and never a live one', async () => {
    const clock = new ManualClock();
    let down = false;
    const deadClient = clientFor(backend);
    cutOff(deadClient, () => down);
    const dead = await open('retire', { clock, client: deadClient });
    const live = await open('retire', { clock });
    const early = (await live.members()).find((m) => m.session === dead.name)!;
    await live.retire(early);
    expect((await live.members()).map((m) => m.session).sort()).toEqual([dead.name, live.name].sort());
    down = true;
    await advanceUntil(clock, 250, async () => !(await live.members()).find((m) => m.session === dead.name)?.alive);
    await live.retire((await live.members()).find((m) => m.session === dead.name)!);
    expect((await live.members()).map((m) => m.session)).toEqual([live.name]);
    expect((await rawItem(client, tableName, dead.name))?.state?.S).toBe('expired');
    deadClient.destroy();
  });

  it('a plain contender waits politely on a session-owned lease: never takeable by the plain rules, a readable busy error', async () => {
    const session = await open('polite');
    await session.tryAcquire('polite-1');
    const counting = clientFor(backend);
    let requests = 0;
    counting.middlewareStack.add((next) => (args) => (requests++, next(args)), { step: 'initialize', name: 'testCount' });
    const plain = new LeaseClient({ tableName, client: counting });
    expect((await plain.peek('polite-1')).takeableInMs).toBe(Number.POSITIVE_INFINITY);
    requests = 0;
    const error = await plain.acquire('polite-1', { leaseMs: 1_000, waitMs: 600, pollMs: 250 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseUnavailableError);
    expect((error as Error).message).toContain('for as long as its session lives');
    // A few tries over the wait (two requests each where a refusal returns no item), not a busy loop.
    expect(requests).toBeLessThanOrEqual(10);
    counting.destroy();
  });

  it("refuses to revoke a session's lease, whose holder would not learn of it while its session lives", async () => {
    const session = await open('revoke');
    const lease = await session.tryAcquire('revoke-1');
    const operator = new LeaseClient({ tableName, client });
    await expect(operator.revoke('revoke-1', lease!.fencingToken)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await rawItem(client, tableName, 'revoke-1'))?.ownerSession?.S).toBe(session.name);
  });

  it.skipIf(!backend.features.transactions)('revoking a session ends every lease held through it, which others then take at once', async () => {
    const session = await open('revoke-session');
    const lease = await session.tryAcquire('revoke-session-1');
    const operator = new LeaseClient({ tableName, client });
    expect(await operator.revoke(session.name, session.generation)).toBe(true);
    await session.publish({ after: 'revoke' }).catch(() => {});
    expect(session.isHeld).toBe(false);
    expect(lease!.signal.aborted).toBe(true);
    const other = await open('revoke-session');
    expect((await other.tryAcquire('revoke-session-1'))?.fencingToken).toBe(2);
  });

  it('refuses bad input with typed errors and stores nothing', async () => {
    const leases = new LeaseClient({ tableName, client });
    const count = async () => (await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ConsistentRead: true }))).Count;
    const before = await count();
    const bad = [
      { leases, group: '' },
      { leases, group: 'a#b' },
      { leases, group: 'ok', id: '' },
      { leases, group: 'ok', leaseMs: 0 },
      { leases, group: 'ok', data: [] as unknown as Record<string, unknown> },
      { leases, group: 'ok', renewEveryMs: 10_000, leaseMs: 3_000 },
      { leases: {} as LeaseClient, group: 'ok' },
      { leases, group: 'ok', extra: 1 } as never,
    ];
    for (const options of bad) await expect(Session.open(options)).rejects.toBeInstanceOf(InvalidArgumentError);
    const session = await open('bad');
    await expect(session.tryAcquire('')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(session.tryAcquire(session.name)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await count()).toBe((before ?? 0) + 1);
  });
});
