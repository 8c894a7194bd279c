/**
 * Leadership that stops when its work stalls (the progress contract and the event-loop lag
 * bound), `health()`, the HTTP health listener, and `closeOnSignals`' option checks (the signal
 * itself is sent to a real child process in leader-elector-signals.test.ts). Real DynamoDB
 * servers; a ManualClock where the moment of the step-down matters, real timers elsewhere.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeOnSignals,
  createLeaseTable,
  healthListener,
  LeaderElector,
  LeaseClient,
  ManualClock,
  type ElectionCounter,
  type ElectorHealth,
  type Leadership,
} from '../lib/index.js';
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

const [firstBackend] = backends();
const someLeases = () => new LeaseClient({ tableName: 'leases', client: clientFor(firstBackend!) });

describe('LeaderElector stall options', () => {
  const rules: [string, string, Record<string, unknown>][] = [
    ['a zero stallMs', 'stallMs', { stallMs: 0 }],
    ['a negative stallMs', 'stallMs', { stallMs: -5 }],
    ['a stallMs that is not a number', 'stallMs', { stallMs: '1000' }],
    ['a NaN stallMs', 'stallMs', { stallMs: Number.NaN }],
    ['an endless stallMs', 'stallMs', { stallMs: Infinity }],
    ['a zero lag bound', 'maxEventLoopLagMs', { maxEventLoopLagMs: 0 }],
    ['a lag bound that is not a number', 'maxEventLoopLagMs', { maxEventLoopLagMs: '200' }],
    ['a lag bound the lease would be lost by first', 'maxEventLoopLagMs', { leaseMs: 1_000, maxEventLoopLagMs: 990 }],
    ['a misspelt option', 'options.stallMS', { stallMS: 1_000 }],
  ];
  it.each(rules)('rejects %s (%s)', (_what, argument, override) => {
    const options = { leases: someLeases(), name: 'x', ...override } as ConstructorParameters<typeof LeaderElector>[0];
    expect(() => new LeaderElector(options)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
  });

  it('says what the lag bound must stay under', () => {
    expect(() => new LeaderElector({ leases: someLeases(), name: 'x', leaseMs: 1_000, maxEventLoopLagMs: 990 })).toThrow(
      'maxEventLoopLagMs: must be shorter than the time the leader trusts its lease (leaseMs · (1 − driftRatio) − guardMs = 990 ms), got 990',
    );
  });

  it('accepts a stallMs shorter than the renew interval, and both bounds together', () => {
    expect(new LeaderElector({ leases: someLeases(), name: 'x', leaseMs: 3_000, stallMs: 100, maxEventLoopLagMs: 500 })).toMatchObject({
      stallMs: 100,
      maxEventLoopLagMs: 500,
    });
  });

  it('watches nothing unless asked', () => {
    const elector = new LeaderElector({ leases: someLeases(), name: 'x' });
    expect([elector.stallMs, elector.maxEventLoopLagMs]).toEqual([undefined, undefined]);
    expect(elector.health()).toEqual({ state: 'stopped', renewFailures: 0, stalled: false });
  });
});

describe('healthListener and closeOnSignals options', () => {
  const elector = { health: (): ElectorHealth => ({ state: 'follower', renewFailures: 0, stalled: false }), close: async () => {} };
  const listenerRules: [string, string, unknown][] = [
    ['a zero maxRenewFailures', 'maxRenewFailures', { maxRenewFailures: 0 }],
    ['a fractional maxRenewFailures', 'maxRenewFailures', { maxRenewFailures: 1.5 }],
    ['a maxRenewFailures that is not a number', 'maxRenewFailures', { maxRenewFailures: '2' }],
    ['a misspelt option', 'options.maxFailures', { maxFailures: 2 }],
    ['options that are not an object', 'options', null],
  ];
  it.each(listenerRules)('healthListener rejects %s (%s)', (_what, argument, options) => {
    expect(() => healthListener(elector, options as { maxRenewFailures?: number })).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', argument }),
    );
  });

  const signalRules: [string, string, unknown][] = [
    ['no signals', 'signals', { signals: [] }],
    ['signals that are not a list', 'signals', { signals: 'SIGTERM' }],
    ['a signal that is not a string', 'signals', { signals: [15] }],
    ['a negative drain', 'drainMs', { drainMs: -1 }],
    ['a drain that is not a number', 'drainMs', { drainMs: '5' }],
    ['an exit that is not a boolean', 'exit', { exit: 'yes' }],
    ['a misspelt option', 'options.drain', { drain: 5 }],
    ['options that are not an object', 'options', null],
  ];
  it.each(signalRules)('closeOnSignals rejects %s (%s), listening to nothing', (_what, argument, options) => {
    const before = process.listenerCount('SIGTERM');
    expect(() => closeOnSignals(elector, options as { drainMs?: number })).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', argument }));
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('closeOnSignals listens to SIGTERM and SIGINT until disposed', () => {
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT'), process.listenerCount('SIGHUP')];
    const dispose = closeOnSignals(elector, { drainMs: 0 });
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT'), process.listenerCount('SIGHUP')]).toEqual([before[0]! + 1, before[1]! + 1, before[2]]);
    dispose();
    dispose();
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT'), process.listenerCount('SIGHUP')]).toEqual(before);
  });
});

describe.each(backends())('Leadership that stops when its work stalls, on $name', (backend) => {
  const tableName = uniqueTableName('stall');
  const admin = clientFor(backend);
  const reader = new LeaseClient({ tableName, client: admin, holderId: 'reader' });
  let n = 0;
  const fresh = () => `stall-${++n}`;
  const { electorFor, closeAll } = electorsOn(backend, tableName);

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(async () => {
    await closeAll();
    admin.destroy();
  });

  /** What an elector told the world: its events and errors. */
  const watch = (elector: LeaderElector) => {
    const seen = {
      leaderships: [] as Leadership[],
      elected: [] as number[],
      deposed: [] as { at: number; fencingToken: number; reason: string }[],
      errors: [] as Error[],
    };
    elector.on('elected', (leadership) => {
      seen.leaderships.push(leadership);
      seen.elected.push(Date.now());
    });
    elector.on('deposed', (d) => seen.deposed.push({ at: Date.now(), ...d }));
    elector.on('error', (error) => seen.errors.push(error));
    return seen;
  };
  /** An elector on a ManualClock: its timers (renewals, deadline, stall checks) move only when the test says. */
  const manualElector = (name: string, options: { stallMs?: number }) => {
    const clock = new ManualClock({ wallStart: Date.now() });
    const leases = new LeaseClient({ tableName, client: clientFor(backend), holderId: 'manual', skewMs: 50, clock });
    const counts = new Map<ElectionCounter, number>();
    const metrics = { count: (metric: ElectionCounter, value = 1) => counts.set(metric, (counts.get(metric) ?? 0) + value), duration: () => {} };
    const elector = electorFor(name, 'manual', { leases, leaseMs: 60_000, ...options, metrics });
    return { clock, elector, seen: { ...watch(elector), counts } };
  };
  /** The stored lease once its state is `state` (a write the test did not await may still be landing). */
  const storedOnce = async (name: string, state: string) => {
    let stored = await reader.describe(name);
    for (const deadline = Date.now() + 5_000; stored?.state !== state && Date.now() < deadline; await delay(10)) stored = await reader.describe(name);
    return stored;
  };
  /** Leads until the leadership's signal aborts. */
  const untilAborted = async ({ signal }: Leadership) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  };

  it('steps down exactly stallMs after the election when lead never reports progress (ManualClock)', async () => {
    const name = fresh();
    const { clock, elector, seen } = manualElector(name, { stallMs: 1_500 });
    void elector.run(untilAborted);
    await until(() => elector.isLeader);
    const [leadership] = seen.leaderships;
    await clock.advance(1_499);
    expect(elector.isLeader).toBe(true);
    expect(leadership!.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(elector.isLeader).toBe(false);
    expect(leadership!.signal.reason).toMatchObject({ name: 'LeaseLostError', reason: 'stalled', fencingToken: leadership!.fencingToken });
    expect(seen.deposed).toEqual([expect.objectContaining({ fencingToken: leadership!.fencingToken, reason: 'stalled' })]);
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]).toMatchObject({ name: 'LeaseLostError', reason: 'stalled' });
    expect(String((seen.errors[0]!.cause as Error).message)).toBe(`lead reported no progress for 1500 ms (stallMs 1500)`);
    expect(seen.counts.get('LeadershipStalled')).toBe(1);
    // Resigned, not left to expire: the stored lease is released at once.
    expect(await storedOnce(name, 'released')).toMatchObject({ holderId: 'manual', fencingToken: leadership!.fencingToken, state: 'released' });
    await elector.close({ drainMs: 0 });
  });

  it('stays leader past many stallMs while lead reports progress, and steps down stallMs after the last report (ManualClock)', async () => {
    const name = fresh();
    const { clock, elector, seen } = manualElector(name, { stallMs: 300 });
    void elector.run(untilAborted);
    await until(() => elector.isLeader);
    const [leadership] = seen.leaderships;
    for (let i = 0; i < 20; i++) {
      await clock.advance(250);
      leadership!.progress();
    }
    expect(elector.isLeader).toBe(true);
    expect(seen.deposed).toEqual([]);
    await clock.advance(299);
    expect(elector.isLeader).toBe(true);
    await clock.advance(1);
    expect(seen.deposed).toEqual([expect.objectContaining({ reason: 'stalled' })]);
    await elector.close({ drainMs: 0 });
  });

  it('stops watching for progress once lead has returned: the node stays leader, as without stallMs (ManualClock)', async () => {
    const name = fresh();
    const { clock, elector, seen } = manualElector(name, { stallMs: 300 });
    let returned = false;
    void elector.run(async () => {
      returned = true;
    });
    await until(() => elector.isLeader && returned);
    await clock.advance(3_000);
    expect(elector.isLeader).toBe(true);
    expect(seen.deposed).toEqual([]);
    await elector.close({ drainMs: 0 });
  });

  it('hands a stalled leadership to a follower with the next token, never two leaders at once', async () => {
    const name = fresh();
    const a = electorFor(name, 'a', { leaseMs: 1_500, stallMs: 300 });
    const seenA = watch(a);
    void a.run(untilAborted);
    await until(() => a.isLeader);
    const b = electorFor(name, 'b', { leaseMs: 1_500 });
    const seenB = watch(b);
    let both = 0;
    const sampler = setInterval(() => (both += a.isLeader && b.isLeader ? 1 : 0), 2);
    void b.run(untilAborted);
    await until(() => b.isLeader);
    clearInterval(sampler);
    expect(both).toBe(0);
    expect(seenA.deposed).toEqual([expect.objectContaining({ reason: 'stalled' })]);
    expect(seenA.deposed[0]!.at).toBeLessThanOrEqual(seenB.elected[0]!);
    expect(seenB.leaderships[0]!.fencingToken).toBe(seenA.leaderships[0]!.fencingToken + 1);
  });

  it('keeps a leader that reports progress, on real timers', async () => {
    const name = fresh();
    const a = electorFor(name, 'a', { leaseMs: 1_500, stallMs: 1_000 });
    const seenA = watch(a);
    void a.run(async (leadership) => {
      while (!leadership.signal.aborted) {
        leadership.progress();
        await delay(20);
      }
    });
    await until(() => a.isLeader);
    await delay(3_500);
    expect(a.isLeader).toBe(true);
    expect(seenA.deposed).toEqual([]);
  });

  it('steps down when the event loop is blocked past maxEventLoopLagMs, well inside the lease', async () => {
    const name = fresh();
    const a = electorFor(name, 'a', { leaseMs: 4_000, maxEventLoopLagMs: 200 });
    const seenA = watch(a);
    void a.run(async (leadership) => {
      // Synchronous work that never yields: nothing else in this process runs meanwhile.
      for (const end = Date.now() + 700; Date.now() < end; );
      await untilAborted(leadership);
    });
    await until(() => seenA.deposed.length > 0);
    expect(seenA.deposed).toEqual([expect.objectContaining({ reason: 'stalled' })]);
    expect(String((seenA.errors[0]!.cause as Error).message)).toMatch(/^the event loop lagged \d+ ms \(maxEventLoopLagMs 200\)$/);
    const b = electorFor(name, 'b');
    const seenB = watch(b);
    void b.run(untilAborted);
    await until(() => b.isLeader);
    expect(seenB.leaderships[0]!.fencingToken).toBe(seenA.leaderships[0]!.fencingToken + 1);
  });

  it('reports health through election, renewals, failing renewals and deposition', async () => {
    const name = fresh();
    let down = false;
    const client = clientFor(backend);
    cutOff(client, () => down);
    const a = electorFor(name, 'a', { leaseMs: 1_500 }, client);
    const seenA = watch(a);
    expect(a.health()).toEqual({ state: 'stopped', renewFailures: 0, stalled: false });
    const before = Date.now();
    void a.run(untilAborted);
    await until(() => a.isLeader);
    const elected = a.health();
    expect(elected).toEqual({ state: 'leader', fencingToken: seenA.leaderships[0]!.fencingToken, leaderSince: expect.any(Number), renewFailures: 0, stalled: false });
    expect(elected.leaderSince).toBeGreaterThanOrEqual(before);
    expect(elected.leaderSince).toBeLessThanOrEqual(Date.now());

    await until(() => a.health().lastRenewAt !== undefined);
    const renewed = a.health().lastRenewAt!;
    expect(renewed).toBeGreaterThanOrEqual(elected.leaderSince!);
    await until(() => a.health().lastRenewAt! > renewed);

    down = true;
    let failing: ElectorHealth | undefined;
    await until(() => (failing = a.health()).renewFailures > 0 || seenA.deposed.length > 0);
    expect(failing).toMatchObject({ state: 'leader', renewFailures: 1, stalled: false });
    await until(() => seenA.deposed.length > 0);
    expect(seenA.deposed).toEqual([expect.objectContaining({ reason: 'expired' })]);
    expect(a.health()).toEqual({ state: 'follower', renewFailures: 0, stalled: false });
    down = false;
    await a.close({ drainMs: 0 });
    expect(a.health()).toEqual({ state: 'stopped', renewFailures: 0, stalled: false });
  });

  describe('healthListener on a real HTTP server', () => {
    let server: Server;
    let url: string;
    const get = async (method = 'GET') => {
      const response = await fetch(url, { method });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
    };
    const health = (state: Partial<ElectorHealth>) => ({ health: (): ElectorHealth => ({ state: 'leader', renewFailures: 0, stalled: false, ...state }) });
    const serve = async (listener: Parameters<typeof createServer>[1]) => {
      server?.close();
      server = createServer(listener).listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    };
    afterAll(() => server?.close());

    it('answers 200 with the health while leading, and 503 once the work has stalled (ManualClock)', async () => {
      const name = fresh();
      const { clock, elector } = manualElector(name, { stallMs: 1_000 });
      await serve(healthListener(elector));
      expect(await get()).toEqual({ status: 200, type: 'application/json', body: JSON.stringify(elector.health()) });
      // A lead wedged for good: it ignores its signal and never settles.
      void elector.run(() => new Promise<void>(() => {}));
      await until(() => elector.isLeader);
      const leading = await get();
      expect(leading.status).toBe(200);
      expect(JSON.parse(leading.body)).toMatchObject({ state: 'leader', stalled: false });
      await clock.advance(1_000);
      const stalled = await get();
      expect(stalled.status).toBe(503);
      expect(JSON.parse(stalled.body)).toMatchObject({ state: 'follower', stalled: true });
      expect(await get('HEAD')).toEqual({ status: 503, type: 'application/json', body: '' });
      await elector.close({ drainMs: 0 });
    });

    it('answers 503 once renewals fall maxRenewFailures behind (1 by default)', async () => {
      await serve(healthListener(health({ renewFailures: 1 })));
      expect((await get()).status).toBe(503);
      await serve(healthListener(health({ renewFailures: 1 }), { maxRenewFailures: 2 }));
      expect((await get()).status).toBe(200);
      await serve(healthListener(health({ state: 'stopped' })));
      expect((await get()).status).toBe(200);
    });
  });
});
