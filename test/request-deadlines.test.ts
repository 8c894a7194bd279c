/**
 * Requests that never get an answer: a connection a NAT or load balancer dropped in silence. The
 * SDK's DynamoDB client waits up to 5 minutes on one; leasehold gives every request a deadline,
 * so a holder, a follower and a fenced write each give up in time and go on, on a new connection.
 * The network is a real TCP proxy in front of the real server (`harness/local/tcp-proxy.ts`).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, fencedWrite, LeaderElector, LeaseClient, type Lease } from '../lib/index.js';
import { startFaultProxy, type FaultProxy } from '../harness/local/tcp-proxy.js';
import { Session } from '../lib/session/session.js';
import { localClientConfig } from '../lib/testing/local-dynamodb.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

/** Resolves with how long `work` took to settle, or `undefined` if it had not settled by `limitMs`. */
async function settleTime(work: Promise<unknown>, limitMs: number): Promise<number | undefined> {
  const started = Date.now();
  const settled = await Promise.race([work.then(() => true, () => true), delay(limitMs).then(() => false)]);
  return settled ? Date.now() - started : undefined;
}

describe.each(backends().filter((b) => b.name !== 'endpoint'))('request deadlines on $name', (backend) => {
  const tableName = uniqueTableName('deadlines');
  const admin = clientFor(backend);
  const proxies: FaultProxy[] = [];
  const closers: (() => unknown)[] = [];
  let n = 0;
  const fresh = () => `deadline-${++n}`;
  /** A lease client whose every request crosses its own fault proxy. */
  const behindProxy = async (holderId: string) => {
    const proxy = await startFaultProxy(backend.endpoint);
    proxies.push(proxy);
    const client = new DynamoDBClient(localClientConfig(proxy.endpoint));
    closers.push(() => client.destroy());
    return { proxy, leases: new LeaseClient({ tableName, client, holderId, skewMs: 50, requestTimeoutMs: 300 }) };
  };

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(async () => {
    for (const close of closers) await close();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    admin.destroy();
  });

  it('a holder whose connection goes silent stops at its deadline and renew() returns, not minutes later', async () => {
    const name = fresh();
    const { proxy, leases } = await behindProxy('holder');
    const lease = (await leases.tryAcquire(name, { leaseMs: 1_000 }))!;
    proxy.blackhole();
    const took = await settleTime(lease.renew().catch((error: unknown) => error), 5_000);
    expect(proxy.stats.bytesDropped).toBeGreaterThan(0);
    expect(took, 'renew() settled').toBeDefined();
    await expect(lease.renew()).rejects.toMatchObject({ name: 'LeaseLostError', reason: 'expired' });
    expect(lease.isHeld).toBe(false);
  });

  it('a renewal lost on a dead connection is sent again on a new one while the lease still holds', async () => {
    const name = fresh();
    const { proxy, leases } = await behindProxy('holder');
    const lease: Lease = (await leases.tryAcquire(name, { leaseMs: 3_000 }))!;
    proxy.blackhole();
    const renewal = lease.renew();
    await delay(400);
    // The connection the first send used stays dead; new ones work again.
    proxy.heal();
    await renewal;
    expect(lease.isHeld).toBe(true);
    expect(proxy.stats.bytesDropped).toBeGreaterThan(0);
    await lease.release();
  });

  it('a follower cut off in silence is back in the election once the network heals', async () => {
    const name = fresh();
    const { proxy, leases } = await behindProxy('follower');
    const leader = new LeaseClient({ tableName, client: admin, holderId: 'leader', skewMs: 50 });
    const held = (await leader.tryAcquire(name, { leaseMs: 1_000 }))!;
    const elector = new LeaderElector({ leases, name, leaseMs: 1_000, followerWakeMs: 250 });
    closers.push(() => elector.close({ drainMs: 0 }));
    const elected: number[] = [];
    elector.on('elected', () => elected.push(Date.now()));
    void elector.run(async ({ signal }) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    });
    await delay(300);
    proxy.blackhole();
    await held.release();
    await delay(2_000); // two leases of silence
    proxy.heal();
    const healedAt = Date.now();
    const deadline = healedAt + 1_000 + 50 + 3_000;
    while (elected.length === 0 && Date.now() < deadline) await delay(20);
    expect(elected, 'elected within lease + skew + 3 s of the heal').toHaveLength(1);
    console.log(`follower back after a silent cut-off: elected ${elected[0]! - healedAt} ms after the heal`);
  });

  it.skipIf(!backend.features.transactions)('a fenced write on a silent connection fails as outcome-unknown instead of hanging (needs transactions)', async () => {
    const name = fresh();
    const { proxy, leases } = await behindProxy('writer');
    const lease = (await leases.tryAcquire(name, { leaseMs: 30_000 }))!;
    proxy.blackhole();
    const write = fencedWrite(lease, [
      { Update: { TableName: tableName, Key: { name: `${name}/item` }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } } },
    ]).catch((error: unknown) => error);
    expect(await settleTime(write, 5_000)).toBeDefined();
    expect(await write).toMatchObject({ name: 'LeaseStoreError', outcomeUnknown: true });
    proxy.heal();
  });

  it('peek gives up on a silent connection within its timeout', async () => {
    const { proxy, leases } = await behindProxy('looker');
    await leases.peek(fresh());
    proxy.blackhole();
    const look = leases.peek(fresh(), { timeoutMs: 300 }).catch((error: unknown) => error);
    expect(await settleTime(look, 5_000)).toBeDefined();
    expect(await look).toMatchObject({ name: 'LeaseStoreError', outcomeUnknown: true });
  });

  it('a session opened while cut off in silence fails within the request deadline, and opens once the network heals', async () => {
    const { proxy, leases } = await behindProxy('session');
    proxy.blackhole();
    const opening = Session.open({ leases, group: 'deadline-group', leaseMs: 2_000 }).catch((error: unknown) => error);
    expect(await settleTime(opening, 5_000), 'open settled').toBeDefined();
    expect(await opening).toMatchObject({ name: 'LeaseStoreError', outcomeUnknown: true });
    proxy.heal();
    const session = await Session.open({ leases, group: 'deadline-group', leaseMs: 2_000 });
    closers.push(() => session.close());
    expect(session.isHeld).toBe(true);
  });
});
