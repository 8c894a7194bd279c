/**
 * The SDK retries a request by itself (3 attempts by default), and its final error says nothing of
 * the earlier ones: an attempt that landed and lost its answer, followed by throttled ones, looks
 * like plain throttling. DynamoDB Local never does this on its own; `landThenThrottle` makes it
 * happen on every backend, with the real write landing on the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient } from '../lib/index.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { landThenThrottle } from './support/faults.js';

describe.each(backends())('writes the SDK retried, on $name', (backend) => {
  const tableName = uniqueTableName('hidden-retries');
  const admin = clientFor(backend);
  const observer = new LeaseClient({ tableName, client: admin, holderId: 'observer' });
  let n = 0;
  const fresh = () => `retried-${++n}`;
  const holderWithFault = () => {
    // One SDK retry is all the pattern needs, and it keeps the SDK's throttling back-off short.
    const client = clientFor(backend, { maxAttempts: 2 });
    return { client, leases: new LeaseClient({ tableName, client, holderId: 'me' }) };
  };

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => admin.destroy());

  it('acquire reconciles an attempt that landed behind throttling, and returns the lease the table shows', async () => {
    const name = fresh();
    const { client, leases } = holderWithFault();
    const fault = landThenThrottle(client, (operation) => operation === 'UpdateItem');
    const outcome = await leases.tryAcquire(name, { leaseMs: 30_000 }).catch((error: unknown) => error);
    expect(fault.landed()).toBe(1);
    expect(fault.throttled()).toBeGreaterThan(1);
    const stored = await observer.describe(name);
    expect(stored).toMatchObject({ state: 'held', holderId: 'me', fencingToken: 1 });
    expect(outcome).toMatchObject({ name, fencingToken: 1, holderId: 'me' });
    expect((outcome as { isHeld: boolean }).isHeld).toBe(true);
  }, 60_000);

  it('reports an acquisition that may have landed as outcome-unknown when even the read cannot tell', async () => {
    const name = fresh();
    const { client, leases } = holderWithFault();
    landThenThrottle(client, (operation) => operation === 'UpdateItem' || operation === 'GetItem');
    const error = await leases.tryAcquire(name, { leaseMs: 30_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'LeaseStoreError', outcomeUnknown: true, retryable: true });
    expect(await observer.describe(name)).toMatchObject({ state: 'held', holderId: 'me' });
  }, 60_000);

  it('renew reconciles a renewal that landed behind throttling and keeps the lease', async () => {
    const name = fresh();
    const { client, leases } = holderWithFault();
    const lease = (await leases.tryAcquire(name, { leaseMs: 3_000 }))!;
    const fault = landThenThrottle(client, (operation) => operation === 'UpdateItem');
    const renewal = await lease.renew({ leaseMs: 60_000 }).catch((error: unknown) => error);
    expect(fault.landed()).toBe(1);
    expect(renewal).toBeUndefined();
    expect(lease.isHeld).toBe(true);
    expect(lease.leaseMs).toBe(60_000);
    expect(await observer.describe(name)).toMatchObject({ state: 'held', holderId: 'me', leaseMs: 60_000, expiresAt: lease.expiresAt });
    fault.heal();
    await lease.release();
  }, 60_000);

  it('release reconciles a release that landed behind throttling instead of reporting a failure', async () => {
    const name = fresh();
    const { client, leases } = holderWithFault();
    const lease = (await leases.tryAcquire(name, { leaseMs: 30_000 }))!;
    const fault = landThenThrottle(client, (operation) => operation === 'UpdateItem');
    const released = await lease.release().catch((error: unknown) => error);
    expect(fault.landed()).toBe(1);
    expect(released).toBeUndefined();
    expect(await observer.describe(name)).toMatchObject({ state: 'released', fencingToken: lease.fencingToken });
  }, 60_000);
});
