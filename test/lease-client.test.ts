/**
 * The lease protocol against real DynamoDB servers: every backend from the harness runs every
 * case, except those that need a feature the backend lacks (skipped by that feature's name).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeaseTable,
  LeaseClient,
  LeaseLostError,
  LeaseUnavailableError,
  ManualClock,
  type Lease,
} from '../lib/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { countRequests, cutOff, loseResponses, skewed } from './support/faults.js';
import { rawItem } from './support/items.js';

describe.each(backends())('LeaseClient on $name', (backend) => {
  const tableName = uniqueTableName('lease-client');
  const admin = clientFor(backend);
  let n = 0;
  const fresh = () => `lease-${++n}`;
  /** The longest a lease's timer sleeps between checks of its clocks. */
  const MAX_CHECK_MS = 1_000;
  const clientOf = (holderId: string, options: Partial<ConstructorParameters<typeof LeaseClient>[0]> = {}) =>
    new LeaseClient({ tableName, client: clientFor(backend), holderId, ...options });

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => admin.destroy());

  it('gives exactly one of 32 concurrent contenders the lease', async () => {
    const name = fresh();
    const contenders = Array.from({ length: 32 }, (_, i) => clientOf(`contender-${i}`));
    const results = await Promise.all(contenders.map((c) => c.tryAcquire(name, { leaseMs: 30_000 })));
    const winners = results.filter((lease): lease is Lease => lease !== undefined);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.fencingToken).toBe(1);
    expect((await contenders[0]!.describe(name))?.holderId).toBe(winners[0]?.holderId);
  });

  it('hands out strictly increasing fencing tokens over 500 mixed cycles', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const holders = ['a', 'b', 'c'].map((id) => clientOf(id, { clock, skewMs: 100 }));
    let seed = 42;
    const pick = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 3;
    let holder = 0;
    let current: Lease | undefined = await holders[holder]!.tryAcquire(name, { leaseMs: 1_000 });
    const tokens = [current!.fencingToken];
    for (let cycle = 0; cycle < 500; cycle++) {
      const way = cycle % 3;
      if (way === 0) await current!.release(); // then anyone acquires
      if (way === 1) await clock.advance(1_000 + 100 + 1); // the holder vanishes; anyone takes over
      if (way === 2) await current!.release(); // then the same holder acquires again
      if (way !== 2) holder = pick();
      current = await holders[holder]!.tryAcquire(name, { leaseMs: 1_000 });
      expect(current, `cycle ${cycle}`).toBeDefined();
      tokens.push(current!.fencingToken);
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    expect((await holders[0]!.describe(name))?.fencingToken).toBe(tokens.at(-1));
  });

  it('keeps the new holder byte-for-byte intact when the old holder renews or releases after a takeover', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const old = await clientOf('old', { clock, skewMs: 100 }).tryAcquire(name, { leaseMs: 1_000 });
    await clock.advance(1_200);
    const taker = await clientOf('new', { clock, skewMs: 100 }).tryAcquire(name, { leaseMs: 60_000, data: { v: 1 } });
    expect(taker?.fencingToken).toBe(old!.fencingToken + 1);
    const before = await rawItem(admin, tableName, name);

    await expect(old!.renew()).rejects.toBeInstanceOf(LeaseLostError);
    await old!.release();

    expect(await rawItem(admin, tableName, name)).toEqual(before);
    expect(taker!.isHeld).toBe(true);
  });

  it('reports a takeover found at renewal as "taken", with the new holder', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const oldClient = clientOf('old', { clock, skewMs: 0 });
    const old = await oldClient.tryAcquire(name, { leaseMs: 1_000 });
    // The contender's wall clock runs far ahead: it sees the lease expired while the holder
    // still trusts it, which is what a skew beyond the configured allowance looks like.
    const taker = await clientOf('new', { clock: skewed(clock, 5_000), skewMs: 0 }).tryAcquire(name, { leaseMs: 1_000 });
    const error: unknown = await old!.renew().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error).toMatchObject({ reason: 'taken', current: { holderId: 'new', fencingToken: taker!.fencingToken } });
    expect(old!.signal.aborted).toBe(true);
  });

  it('never lets a contender up to skewMs ahead take the lease before the holder stops trusting it', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const skewMs = 500;
    const holder = await clientOf('holder', { clock, skewMs }).tryAcquire(name, { leaseMs: 2_000 });
    const contender = clientOf('contender', { clock: skewed(clock, skewMs), skewMs });
    let abortedAt: number | undefined;
    holder!.signal.addEventListener('abort', () => (abortedAt = clock.monotonicNow()));
    let taken: Lease | undefined;
    while (!taken) {
      await clock.advance(10);
      taken = await contender.tryAcquire(name, { leaseMs: 2_000 });
    }
    expect(abortedAt).toBeDefined();
    expect(abortedAt).toBeLessThan(clock.monotonicNow());
    expect((holder!.signal.reason as LeaseLostError).reason).toBe('expired');
    expect(taken.fencingToken).toBe(holder!.fencingToken + 1);
  });

  it('takes an expired lease in one write once past expiresAt + skewMs', async () => {
    const name = fresh();
    const clock = new ManualClock();
    await clientOf('holder', { clock, skewMs: 300 }).tryAcquire(name, { leaseMs: 1_000 });
    const client = clientFor(backend);
    const requests = countRequests(client);
    const contender = new LeaseClient({ tableName, client, holderId: 'contender', clock, skewMs: 300 });
    await clock.advance(1_000 + 300 + 1);
    const lease = await contender.tryAcquire(name, { leaseMs: 1_000 });
    expect(lease?.fencingToken).toBe(2);
    expect(requests.total()).toBe(1);
  });

  it('takes a lease left unchanged for leaseMs·(1 + drift) even when wall clocks are hours apart', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const hour = 3_600_000;
    const holder = await clientOf('holder', { clock, skewMs: 100 }).tryAcquire(name, { leaseMs: 1_000 });
    const holderSignal = holder!.signal;
    // Behind by an hour, the wall path would never fire for this contender.
    const contender = clientOf('contender', { clock: skewed(clock, -hour), skewMs: 100 });
    expect(await contender.tryAcquire(name, { leaseMs: 1_000 })).toBeUndefined();
    await clock.advance(1_000);
    expect(await contender.tryAcquire(name, { leaseMs: 1_000 })).toBeUndefined();
    expect(holderSignal.aborted).toBe(true);
    await clock.advance(11);
    expect((await contender.tryAcquire(name, { leaseMs: 1_000 }))?.fencingToken).toBe(2);
  });

  it('restarts the observed-unchanged wait when the holder renews', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const holder = await clientOf('holder', { clock, skewMs: 100 }).tryAcquire(name, { leaseMs: 1_000 });
    const contender = clientOf('contender', { clock: skewed(clock, -3_600_000), skewMs: 100 });
    expect(await contender.tryAcquire(name, { leaseMs: 1_000 })).toBeUndefined();
    await clock.advance(600);
    await holder!.renew();
    await clock.advance(600);
    expect(await contender.tryAcquire(name, { leaseMs: 1_000 })).toBeUndefined();
    expect(holder!.isHeld).toBe(true);
  });

  it('fires the signal at the monotonic deadline when the store is unreachable, before anyone can acquire', async () => {
    const name = fresh();
    const clock = new ManualClock();
    let down = false;
    const holderClient = clientFor(backend);
    cutOff(holderClient, () => down);
    const holder = await new LeaseClient({ tableName, client: holderClient, holderId: 'holder', clock, skewMs: 200 })
      .tryAcquire(name, { leaseMs: 1_000 });
    const contender = clientOf('contender', { clock: skewed(clock, 200), skewMs: 200 });
    const abortedAt: number[] = [];
    holder!.signal.addEventListener('abort', () => abortedAt.push(clock.monotonicNow()));
    const acquiredAt = clock.monotonicNow();

    down = true;
    const renewal = holder!.renew().catch((e: unknown) => e);
    let taken: Lease | undefined;
    while (!taken) {
      await clock.advance(5);
      taken = await contender.tryAcquire(name, { leaseMs: 1_000 });
    }
    expect(abortedAt).toHaveLength(1);
    expect(abortedAt[0]).toBeLessThanOrEqual(acquiredAt + 1_000 * 0.99 + 2);
    expect(abortedAt[0]).toBeLessThan(clock.monotonicNow());
    await clock.advance(5_000);
    expect(await renewal).toMatchObject({ name: 'LeaseLostError', reason: 'expired' });
  });

  describe('when responses are lost after the write landed', () => {
    it('acquire recognises its own landed write and agrees with the store', async () => {
      const name = fresh();
      const client = clientFor(backend);
      let drops = 1;
      const faults = loseResponses(client, (op) => op === 'UpdateItem' && drops-- > 0);
      const lease = await new LeaseClient({ tableName, client, holderId: 'me' }).tryAcquire(name, { leaseMs: 30_000 });
      const stored = await new LeaseClient({ tableName, client: admin }).describe(name);
      expect(faults.dropped()).toBe(1);
      expect(lease).toBeDefined();
      expect(stored).toMatchObject({ holderId: 'me', state: 'held', fencingToken: lease!.fencingToken });
      expect(lease!.fencingToken).toBe(1);
    });

    it('renew and release retry to the same end state', async () => {
      const name = fresh();
      const client = clientFor(backend);
      let drops = 0;
      const faults = loseResponses(client, (op) => op === 'UpdateItem' && drops-- > 0);
      const lease = await new LeaseClient({ tableName, client, holderId: 'me' }).tryAcquire(name, { leaseMs: 30_000 });
      const observer = new LeaseClient({ tableName, client: admin });
      const before = await observer.describe(name);

      drops = 1;
      await lease!.renew({ leaseMs: 40_000 });
      const renewed = await observer.describe(name);
      expect(renewed).toMatchObject({ state: 'held', holderId: 'me', fencingToken: lease!.fencingToken, leaseMs: 40_000 });
      expect(renewed!.revision).not.toBe(before!.revision);
      expect(lease!.isHeld).toBe(true);
      expect(faults.dropped()).toBe(1);

      drops = 1;
      await lease!.release();
      expect(faults.dropped()).toBe(2);
      expect(await observer.describe(name)).toMatchObject({ state: 'released', fencingToken: lease!.fencingToken });
      expect(lease!.isHeld).toBe(false);
    });
  });

  it.skipIf(!backend.features.returnValuesOnConditionCheckFailure)(
    'learns the holder of a busy lease in one round trip (needs returnValuesOnConditionCheckFailure)',
    async () => {
      const name = fresh();
      await clientOf('holder').tryAcquire(name, { leaseMs: 30_000 });
      const client = clientFor(backend);
      const requests = countRequests(client);
      const contender = new LeaseClient({ tableName, client, holderId: 'contender' });
      const error = await contender.acquire(name, { leaseMs: 1_000, waitMs: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LeaseUnavailableError);
      expect(error).toMatchObject({ holder: { holderId: 'holder', fencingToken: 1 } });
      expect(requests.total()).toBe(1);
    },
  );

  it('acquire waits for a release and gets the next token', async () => {
    const name = fresh();
    const first = await clientOf('first').tryAcquire(name, { leaseMs: 30_000 });
    const waiting = clientOf('second').acquire(name, { leaseMs: 30_000, pollMs: 20, waitMs: 10_000 });
    setTimeout(() => void first!.release(), 50);
    const second = await waiting;
    expect(second.fencingToken).toBe(first!.fencingToken + 1);
    expect(first!.signal.aborted).toBe(true);
  });

  it('acquire gives up after waitMs with the holder in the error', async () => {
    const name = fresh();
    await clientOf('holder').tryAcquire(name, { leaseMs: 30_000 });
    const error = await clientOf('waiter').acquire(name, { leaseMs: 1_000, waitMs: 60, pollMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseUnavailableError);
    expect(error).toMatchObject({ leaseName: name, holder: { holderId: 'holder' } });
  });

  it('acquire stops waiting when its signal aborts', async () => {
    const name = fresh();
    await clientOf('holder').tryAcquire(name, { leaseMs: 30_000 });
    const stop = new AbortController();
    const waiting = clientOf('waiter').acquire(name, { leaseMs: 1_000, signal: stop.signal });
    stop.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
  });

  it('acquire aborted while its winning write is in flight rejects, and hands the lease back', async () => {
    const name = fresh();
    const client = clientFor(backend);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand') await new Promise((resolve) => setTimeout(resolve, 200));
        return next(args);
      },
      { step: 'initialize', name: 'testSlowWrites' },
    );
    const stop = new AbortController();
    const acquiring = new LeaseClient({ tableName, client, holderId: 'quitter' }).acquire(name, { leaseMs: 30_000, signal: stop.signal });
    setTimeout(() => stop.abort(new Error('shutting down')), 50);
    await expect(acquiring).rejects.toThrow('shutting down');
    expect(await clientOf('observer').describe(name)).toMatchObject({ state: 'released', holderId: 'quitter', fencingToken: 1 });
  });

  it('stops trusting a lease when the wall clock passes the bound while the monotonic clock stood still (a suspended machine)', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const lease = (await clientOf('sleeper', { clock }).tryAcquire(name, { leaseMs: 10_000 }))!;
    const reasons: unknown[] = [];
    lease.signal.addEventListener('abort', () => reasons.push(lease.signal.reason));
    clock.stepWall(5_000);
    expect(lease.isHeld).toBe(true);
    // Suspended for 6 s more: the monotonic clock did not move, contenders' clocks did.
    clock.stepWall(6_000);
    await clock.advance(MAX_CHECK_MS);
    expect(reasons).toEqual([expect.objectContaining({ name: 'LeaseLostError', reason: 'expired' })]);
    expect(lease.isHeld).toBe(false);
    await expect(lease.renew()).rejects.toMatchObject({ reason: 'expired' });
  });

  it('gives a signal first read after a release already aborted, with why it ended', async () => {
    const clock = new ManualClock();
    const client = clientOf('late-reader', { clock });
    const released = (await client.tryAcquire(fresh(), { leaseMs: 1_000 }))!;
    await released.release();
    expect(released.signal.aborted).toBe(true);
    expect(released.signal.reason).toMatchObject({ name: 'LeaseLostError', reason: 'released', fencingToken: released.fencingToken });
    expect(released.signal.reason).toBe(released.signal.reason);

    const held = (await client.tryAcquire(fresh(), { leaseMs: 1_000 }))!;
    await clock.advance(500);
    const signal = held.signal;
    expect(signal.aborted).toBe(false);
    await clock.advance(490 + 1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ reason: 'expired' });
  });

  // The elector, the group and users attach a listener to a fresh lease's signal without first
  // checking `aborted`: an acquisition answered late may already be past its deadline, and the
  // listener must still hear of it (found by the semaphore's fault test under load).
  it('tells a listener added on the first read of a lease already past its deadline', async () => {
    const clock = new ManualClock();
    const lapsed = (await clientOf('late-listener', { clock }).tryAcquire(fresh(), { leaseMs: 1_000 }))!;
    await clock.advance(990);
    const reasons: unknown[] = [];
    lapsed.signal.addEventListener('abort', () => reasons.push(lapsed.signal.reason));
    await clock.advance(1);
    expect(reasons).toEqual([expect.objectContaining({ name: 'LeaseLostError', reason: 'expired' })]);
    expect(() => lapsed.assertValid()).toThrow(lapsed.signal.reason as Error);
  });

  it('releases with `await using` and keeps the token for the next holder', async () => {
    const name = fresh();
    const client = clientOf('scoped');
    {
      await using lease = await client.acquire(name, { leaseMs: 30_000 });
      expect(lease.isHeld).toBe(true);
    }
    expect(await client.describe(name)).toMatchObject({ state: 'released', fencingToken: 1 });
    expect((await client.tryAcquire(name, { leaseMs: 1_000 }))?.fencingToken).toBe(2);
  });

  it('describes a held lease past expiresAt + skewMs as expired, and an unknown one as undefined', async () => {
    const name = fresh();
    const clock = new ManualClock();
    const client = clientOf('observer', { clock, skewMs: 100 });
    await clientOf('holder', { clock }).tryAcquire(name, { leaseMs: 1_000, data: { region: 'eu-west-1' } });
    expect(await client.describe(name)).toMatchObject({ state: 'held', holderId: 'holder', data: { region: 'eu-west-1' } });
    await clock.advance(1_101);
    expect((await client.describe(name))?.state).toBe('expired');
    expect(await client.describe(fresh())).toBeUndefined();
  });

  it('revokes on an operator\'s word only at the token read, never a newer holder', async () => {
    const name = fresh();
    const operator = clientOf('operator');
    const first = await clientOf('first').tryAcquire(name, { leaseMs: 30_000 });
    expect(await operator.revoke(name, first!.fencingToken)).toBe(true);
    const second = await clientOf('second').tryAcquire(name, { leaseMs: 30_000 });
    const before = await rawItem(admin, tableName, name);
    expect(await operator.revoke(name, first!.fencingToken)).toBe(false);
    expect(await rawItem(admin, tableName, name)).toEqual(before);
    expect(second!.fencingToken).toBe(first!.fencingToken + 1);
  });

  it('does not pass the previous holder\'s payload to the next one', async () => {
    const name = fresh();
    await (await clientOf('a').tryAcquire(name, { leaseMs: 30_000, data: { secret: 'a' } }))!.release();
    const next = await clientOf('b').tryAcquire(name, { leaseMs: 30_000 });
    expect(next!.data).toBeUndefined();
  });
});

describe('a lease table that is missing or wrong', () => {
  const [backend] = backends();
  const client = clientFor(backend!);
  afterAll(() => client.destroy());

  it('throws TableNotFoundError naming the table and the fix', async () => {
    const leases = new LeaseClient({ tableName: 'no-such-table', client });
    await expect(leases.tryAcquire('x', { leaseMs: 1_000 })).rejects.toMatchObject({
      name: 'TableNotFoundError',
      tableName: 'no-such-table',
      message: expect.stringContaining('createLeaseTable'),
    });
  });

  it('throws TableSchemaMismatchError for a table with another key, writing nothing', async () => {
    const { CreateTableCommand, ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const tableName = uniqueTableName('wrong-key');
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const leases = new LeaseClient({ tableName, client });
    await expect(leases.tryAcquire('x', { leaseMs: 1_000 })).rejects.toMatchObject({ name: 'TableSchemaMismatchError' });
    await expect(createLeaseTable(client, tableName)).rejects.toMatchObject({ name: 'TableSchemaMismatchError' });
    expect((await client.send(new ScanCommand({ TableName: tableName }))).Count).toBe(0);
  });
});

