/**
 * LeaderElector against real DynamoDB servers with real timers and short leases.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeaseTable,
  fencedWrite,
  FencedWriteRejectedError,
  fencingCondition,
  LeaderElector,
  LeaseClient,
  observeLeader,
  systemClock,
  type ElectionLeases,
  powertoolsElectionMetrics,
  type LeaderInfo,
  type Leadership,
} from '../lib/index.js';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { cutOff } from './support/faults.js';
import { electorsOn } from './support/electors.js';

const until = async (condition: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
};

describe('LeaderElector configuration', () => {
  const [backend] = backends();
  const leases = new LeaseClient({ tableName: 'leases', client: clientFor(backend!) });
  const guarded = (guardMs: number) => new LeaseClient({ tableName: 'leases', client: clientFor(backend!), guardMs });
  const rules: [string, string, Record<string, unknown>][] = [
    ['a missing lease client', 'leases', { leases: undefined }],
    ['a lease client without peek', 'leases', { leases: { holderId: 'h', clock: systemClock, driftRatio: 0.01, guardMs: 0, tryAcquire: () => undefined } }],
    ['an empty name', 'name', { name: '' }],
    ['a non-positive lease', 'leaseMs', { leaseMs: 0 }],
    ['a renew interval not shorter than the lease', 'renewEveryMs', { leaseMs: 1_000, renewEveryMs: 1_000 }],
    ['a renew interval the drift allowance eats', 'renewEveryMs', { leaseMs: 1_000, renewEveryMs: 995 }],
    ['a renew interval the guard eats', 'renewEveryMs', { leaseMs: 1_000, renewEveryMs: 800, leases: guarded(200) }],
    ['a default renew interval the guard eats', 'renewEveryMs', { leaseMs: 1_000, leases: guarded(700) }],
    ['a lease drift and guard take whole', 'leaseMs', { leaseMs: 1_000, leases: guarded(990) }],
    ['a lease shorter than the guard', 'leaseMs', { leaseMs: 500, renewEveryMs: 100, leases: guarded(600) }],
    ['a negative lock delay', 'lockDelayMs', { lockDelayMs: -1 }],
    ['a zero follower wake-up', 'followerWakeMs', { followerWakeMs: 0 }],
    ['more standbys than there are slots', 'standbys', { standbys: 9 }],
    ['a fractional standby count', 'standbys', { standbys: 1.5 }],
    ['a zero idle wake-up', 'idleWakeMs', { idleWakeMs: 0 }],
    ['an unknown option', 'options.renewMs', { renewMs: 5 }],
  ];
  it.each(rules)('rejects %s (%s)', (_what, argument, override) => {
    const options = { leases, name: 'x', ...override } as ConstructorParameters<typeof LeaderElector>[0];
    expect(() => new LeaderElector(options)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
  });

  it('says what the leader trusts its lease for when the guard leaves no room to renew', () => {
    expect(() => new LeaderElector({ leases: guarded(700), name: 'x', leaseMs: 1_000 })).toThrow(
      'renewEveryMs: must be shorter than the time the leader trusts its lease (leaseMs · (1 − driftRatio) − guardMs = 290 ms), got 333.3333333333333 (the default, leaseMs / 3)',
    );
    expect(() => new LeaderElector({ leases: guarded(990), name: 'x', leaseMs: 1_000 })).toThrow(
      'leaseMs: must be longer than what the leader takes off it before trusting it (leaseMs · driftRatio + guardMs = 1000 ms), got 1000',
    );
  });

  it('names what a lease client lacks', () => {
    const leases = { holderId: 7, clock: systemClock, driftRatio: 0.01, peek: () => undefined } as unknown as ElectionLeases;
    expect(() => new LeaderElector({ leases, name: 'x' })).toThrow(
      'leases: must implement ElectionLeases, as a LeaseClient does (missing or mistyped: holderId, guardMs, tryAcquire)',
    );
  });

  it('accepts a guard that leaves room to renew', () => {
    expect(new LeaderElector({ leases: guarded(200), name: 'x', leaseMs: 1_000, renewEveryMs: 700 })).toMatchObject({ renewEveryMs: 700 });
  });

  it('defaults to renewing every third of a 10 s lease and waking followers every half lease', () => {
    const elector = new LeaderElector({ leases, name: 'x' });
    expect(elector).toMatchObject({ leaseMs: 10_000, renewEveryMs: 10_000 / 3, followerWakeMs: 5_000, lockDelayMs: 0, standbys: 2, idleWakeMs: 40_000 });
  });
});

describe.each(backends())('LeaderElector on $name', (backend) => {
  const tableName = uniqueTableName('elector');
  const admin = clientFor(backend);
  let n = 0;
  const fresh = () => `election-${++n}`;
  const { electorFor, closeAll } = electorsOn(backend, tableName);
  /** Runs an elector whose leadership lasts until it is lost; records what it saw. */
  const campaign = (elector: LeaderElector) => {
    const seen = { elected: [] as number[], deposed: [] as { at: number; reason: string }[], leaderships: [] as Leadership[] };
    elector.on('elected', () => seen.elected.push(Date.now()));
    elector.on('deposed', (d) => seen.deposed.push({ at: Date.now(), reason: d.reason }));
    void elector.run(async (leadership) => {
      seen.leaderships.push(leadership);
      await new Promise((resolve) => leadership.signal.addEventListener('abort', resolve));
    });
    return seen;
  };

  /** A LeaseClient as a second installed copy of the package would hand it over: its own, on this suite's table. */
  const clientOf = (holderId: string) => new LeaseClient({ tableName, client: clientFor(backend), holderId, skewMs: 50 });
  /**
   * A lease client from another copy of the package, as this copy sees it: another class with
   * the same shape (delegating to a real client here). With `standbySlots` it also offers the
   * standby slots as every copy does, under the key `Symbol.for` shares between copies.
   */
  const secondCopy = (leases: LeaseClient, { standbySlots = false } = {}): ElectionLeases => {
    const key = Symbol.for('leasehold.standbySlots/1');
    return {
      holderId: leases.holderId,
      clock: leases.clock,
      driftRatio: leases.driftRatio,
      guardMs: leases.guardMs,
      peek: (lease, options) => leases.peek(lease, options),
      tryAcquire: (lease, options) => leases.tryAcquire(lease, options),
      ...(standbySlots && { [key]: () => (leases as unknown as Record<symbol, () => unknown>)[key]!() }),
    };
  };

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(async () => {
    await closeAll();
    admin.destroy();
  });

  it('elects one of three and keeps it leading past several lease periods', async () => {
    const name = fresh();
    // A longer lease than the other cases: a renewal delayed by a busy machine must not end it.
    const electors = ['a', 'b', 'c'].map((id) => electorFor(name, id, { leaseMs: 1_500, followerWakeMs: 300 }));
    const seen = electors.map(campaign);
    await until(() => electors.some((e) => e.isLeader));
    await delay(4_500);
    expect(electors.filter((e) => e.isLeader)).toHaveLength(1);
    expect(seen.flatMap((s) => s.elected)).toHaveLength(1);
    const leader = electors.find((e) => e.isLeader)!;
    const follower = electors.find((e) => !e.isLeader)!;
    expect(follower.leader()).toMatchObject({ holderId: leader.leader()!.holderId, isSelf: false });
  });

  it('elects, hands over and observes through lease clients from another copy of the package, standby slots or not', async () => {
    const name = fresh();
    const [a, b] = [electorFor(name, 'a', { leases: secondCopy(clientOf('a')) }), electorFor(name, 'b', { leases: secondCopy(clientOf('b')) })];
    // Without the standby slots every follower watches closely.
    expect([a.standbys, b.standbys]).toEqual([0, 0]);
    const [seenA, seenB] = [campaign(a), campaign(b)];
    await until(() => a.isLeader || b.isLeader);
    const [leader, follower, seenLeader, seenFollower] = a.isLeader ? [a, b, seenA, seenB] : [b, a, seenB, seenA];
    const observed = await observeLeader({ leases: secondCopy(clientOf('o')), name }).next();
    expect(observed.value).toMatchObject({ holderId: leader.leader()!.holderId, isSelf: false });
    await leader.resign();
    await until(() => follower.isLeader);
    expect(seenLeader.deposed).toEqual([expect.objectContaining({ reason: 'released' })]);
    expect(seenFollower.leaderships[0]!.fencingToken).toBe(seenLeader.leaderships[0]!.fencingToken + 1);
    // With them, a follower of another copy stands by in a slot as one of this copy does.
    const c = electorFor(name, 'c', { leases: secondCopy(clientOf('c'), { standbySlots: true }) });
    expect(c.standbys).toBe(2);
    campaign(c);
    const reader = clientOf('reader');
    let slotted = false;
    for (const deadline = Date.now() + 10_000; !slotted && Date.now() < deadline; await delay(20)) {
      slotted = (await reader.describe(name))!.standbys.some((s) => s.holderId === 'c');
    }
    expect(slotted).toBe(true);
  });

  it('hands over on resign within about one follower wake-up', async () => {
    const name = fresh();
    const [a, b] = [electorFor(name, 'a'), electorFor(name, 'b')];
    const seenA = campaign(a);
    await until(() => a.isLeader);
    const seenB = campaign(b);
    await delay(300);
    const resignedAt = Date.now();
    await a.resign();
    await until(() => b.isLeader);
    const handover = Date.now() - resignedAt;
    console.log(`resign handover: ${handover} ms (follower wake-up 150 ms)`);
    expect(handover).toBeLessThan(5_000);
    expect(seenA.deposed).toEqual([expect.objectContaining({ reason: 'released' })]);
    expect(seenB.leaderships[0]!.fencingToken).toBe(seenA.leaderships[0]!.fencingToken + 1);
  });

  it('deposes a leader cut off from the store before a follower is elected', async () => {
    const name = fresh();
    let down = false;
    const client = clientFor(backend);
    cutOff(client, () => down);
    const a = electorFor(name, 'a', {}, client);
    const seenA = campaign(a);
    await until(() => a.isLeader);
    const b = electorFor(name, 'b');
    const seenB = campaign(b);
    await delay(200);
    down = true;
    await until(() => b.isLeader);
    expect(seenA.deposed).toEqual([expect.objectContaining({ reason: 'expired' })]);
    expect(seenA.deposed[0]!.at).toBeLessThanOrEqual(seenB.elected[0]!);
    down = false;
  });

  it('waits out lockDelayMs after an involuntary loss before campaigning again', async () => {
    const name = fresh();
    let down = false;
    const client = clientFor(backend);
    cutOff(client, () => down);
    const a = electorFor(name, 'a', { lockDelayMs: 60_000 }, client);
    const seenA = campaign(a);
    await until(() => a.isLeader);
    down = true;
    await until(() => seenA.deposed.length === 1);
    down = false;
    const b = electorFor(name, 'b');
    campaign(b);
    await until(() => b.isLeader);
    await b.resign();
    await delay(1_000);
    expect(a.isLeader).toBe(false);
    expect(seenA.elected).toHaveLength(1);
  });

  it('lets only the configured number of followers stand by, each in its own slot', async () => {
    const name = fresh();
    const electors = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => electorFor(name, id, { standbys: 2, leaseMs: 1_500 }));
    electors.forEach(campaign);
    await until(() => electors.some((e) => e.isLeader));
    await delay(500);
    const stored = await new LeaseClient({ tableName, client: admin }).describe(name);
    const live = stored!.standbys.filter((s) => s.until > Date.now());
    expect(live.map((s) => s.slot).sort()).toEqual([0, 1]);
    expect(new Set(live.map((s) => s.holderId)).size).toBe(2);
    expect(live.map((s) => s.holderId)).not.toContain(stored!.holderId);
  });

  it('still elects a follower that is not a standby when the leader and every standby vanish', async () => {
    const name = fresh();
    let down = false;
    const cut = clientFor(backend);
    cutOff(cut, () => down);
    const leader = electorFor(name, 'leader', { standbys: 1, idleWakeMs: 300 }, cut);
    campaign(leader);
    await until(() => leader.isLeader);
    const standby = electorFor(name, 'standby', { standbys: 1, idleWakeMs: 300 }, cut);
    campaign(standby);
    await delay(300);
    const idle = electorFor(name, 'idle', { standbys: 1, idleWakeMs: 300 });
    campaign(idle);
    await delay(300);
    down = true;
    await until(() => idle.isLeader, 15_000);
    expect(leader.isLeader || standby.isLeader).toBe(false);
    down = false;
  });

  it('runs independent elections for different names in one process', async () => {
    const names = [fresh(), fresh(), fresh()];
    const electors = names.map((name, i) => electorFor(name, `node-${i}`));
    electors.forEach(campaign);
    await until(() => electors.every((e) => e.isLeader));
    await electors[1]!.resign();
    expect(electors[0]!.isLeader && electors[2]!.isLeader).toBe(true);
  });

  it('observes leader changes without campaigning', async () => {
    const name = fresh();
    const stop = new AbortController();
    const observer = new LeaseClient({ tableName, client: clientFor(backend), holderId: 'observer' });
    const changes: (LeaderInfo | undefined)[] = [];
    const watching = (async () => {
      for await (const leader of observeLeader({ leases: observer, name, signal: stop.signal, pollMs: 50 })) changes.push(leader);
    })();
    const a = electorFor(name, 'a');
    campaign(a);
    await until(() => changes.some((c) => c?.holderId === 'a'));
    await a.close();
    await until(() => changes.at(-1) === undefined && changes.length >= 2);
    stop.abort();
    await watching;
    expect(changes.filter(Boolean)).toEqual([{ holderId: 'a', fencingToken: 1, isSelf: false }]);
  });

  it('keeps observing while the store cannot be reached, and sees the new leader once it can', async () => {
    const name = fresh();
    let down = false;
    const client = clientFor(backend);
    cutOff(client, () => down);
    const observer = new LeaseClient({ tableName, client, holderId: 'observer' });
    const stop = new AbortController();
    const changes: (LeaderInfo | undefined)[] = [];
    let failure: unknown;
    const watching = (async () => {
      for await (const leader of observeLeader({ leases: observer, name, signal: stop.signal, pollMs: 50 })) changes.push(leader);
    })().catch((error: unknown) => {
      failure = error;
    });
    const a = electorFor(name, 'a');
    campaign(a);
    await until(() => changes.some((c) => c?.holderId === 'a'));
    down = true;
    await a.close();
    const b = electorFor(name, 'b');
    campaign(b);
    await until(() => b.isLeader);
    // Long enough for many failed looks at pollMs 50.
    await delay(500);
    down = false;
    await until(() => failure !== undefined || changes.some((c) => c?.holderId === 'b'));
    stop.abort();
    await watching;
    expect(failure).toBeUndefined();
    expect(changes.filter(Boolean).map((c) => c!.holderId)).toEqual(['a', 'b']);
  });

  it('stops observing with the error when the table is missing', async () => {
    const observer = new LeaseClient({ tableName: uniqueTableName('missing'), client: clientFor(backend) });
    await expect(observeLeader({ leases: observer, name: 'x', pollMs: 50 }).next()).rejects.toMatchObject({ name: 'TableNotFoundError' });
  });

  it.skipIf(!backend.features.transactions)('lands fenced writes only while the lease holds (needs transactions)', async () => {
    const name = fresh();
    const documents = DynamoDBDocumentClient.from(admin);
    const leases = new LeaseClient({ tableName, client: clientFor(backend), holderId: 'writer', skewMs: 0 });
    const lease = (await leases.tryAcquire(name, { leaseMs: 60_000 }))!;
    const entry = (value: number) => ({
      Update: { TableName: tableName, Key: { name: `${name}/ledger` }, UpdateExpression: 'ADD entries :v', ExpressionAttributeValues: { ':v': value } },
    });
    await fencedWrite(lease, [entry(1)]);
    await new LeaseClient({ tableName, client: admin }).revoke(name, lease.fencingToken);
    await expect(fencedWrite(lease, [entry(100)])).rejects.toBeInstanceOf(FencedWriteRejectedError);
    const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: { name: `${name}/ledger` }, ConsistentRead: true }));
    expect(Item?.entries).toBe(1);
  });

  it('refuses a stale token at a resource that keeps the highest token seen', async () => {
    const documents = DynamoDBDocumentClient.from(admin);
    const key = { name: 'fenced-resource' };
    const send = (token: number) => {
      const fence = fencingCondition(token, { attribute: 'highestToken' });
      return documents.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: `SET ${fence.setClause}`, ...fence }));
    };
    await send(3);
    await send(3);
    await expect(send(2)).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await send(4);
  });
});

describe('powertoolsElectionMetrics', () => {
  it('records counters and durations as EMF metrics', () => {
    const metrics = new Metrics({ namespace: 'Leasehold', serviceName: 'test' });
    const hook = powertoolsElectionMetrics(metrics);
    hook.count('LeadershipAcquired');
    hook.duration('RenewLatencyMs', 12);
    const emf = metrics.serializeMetrics();
    const definitions = emf._aws.CloudWatchMetrics[0]!.Metrics;
    expect(definitions).toEqual(
      expect.arrayContaining([
        { Name: 'LeadershipAcquired', Unit: 'Count' },
        { Name: 'RenewLatencyMs', Unit: 'Milliseconds' },
      ]),
    );
    expect(emf).toMatchObject({ LeadershipAcquired: 1, RenewLatencyMs: 12 });
  });
});
