/**
 * A follower's standby slot against real DynamoDB servers: a follower never holds two slots,
 * whatever the (eventually consistent) read it was handed says.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, systemClock, type LeaseDescription } from '../lib/index.js';
import { standbySlotsOf } from '../lib/core/contracts.js';
import { StandbySeat } from '../lib/elector/standby-seat.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';

describe.each(backends())('StandbySeat on $name', (backend) => {
  const tableName = uniqueTableName('seat');
  const admin = clientFor(backend);
  const leader = new LeaseClient({ tableName, client: admin, holderId: 'leader' });
  let n = 0;
  /** A lease held by someone else, for followers to stand by on. */
  const heldLease = async () => {
    const name = `seat-${++n}`;
    await leader.tryAcquire(name, { leaseMs: 60_000 });
    return name;
  };
  /** A follower's client whose random draws are `draws`, in order: they pick the slot a claim starts at. */
  const follower = (holderId: string, draws: number[] = []) =>
    new LeaseClient({ tableName, client: admin, holderId, clock: { ...systemClock, random: () => draws.shift() ?? 0.5 } });
  /** The live slots `holderId` has, by a strongly consistent read. */
  const slotsOf = async (name: string, holderId: string) =>
    (await leader.describe(name))!.standbys
      .filter((s) => s.holderId === holderId && s.until > Date.now())
      .map((s) => s.slot)
      .sort();
  /** The standby-slot writes a client keeps for its elector (not public API). */
  const slotsFor = (leases: LeaseClient) => standbySlotsOf(leases)!;
  /** What an eventually consistent read from before any standby claim would show. */
  const staleRead = async (name: string): Promise<LeaseDescription> => ({ ...(await leader.describe(name))!, standbys: [] });

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => admin.destroy());

  it('refreshes the slot it holds when handed a read that lacks it, rather than claim a second', async () => {
    const name = await heldLease();
    // The first claim starts at slot 0, any later one at slot 1: a second claim would land there.
    const leases = follower('f', [0, 0.99, 0.99]);
    const seat = new StandbySeat(leases, name, 2, 600);
    expect(await seat.watchesClosely(await leases.describe(name))).toBe(true);
    expect(await slotsOf(name, 'f')).toEqual([0]);
    expect(await seat.watchesClosely(await staleRead(name))).toBe(true);
    expect(await slotsOf(name, 'f')).toEqual([0]);
  });

  it('claims another free slot once the one it held was taken over, and holds only that one', async () => {
    const name = await heldLease();
    // A 10 ms lease gives a slot that lapses after 100 ms.
    const seat = new StandbySeat(follower('f', [0, 0]), name, 2, 10);
    expect(await seat.watchesClosely(await leader.describe(name))).toBe(true);
    await delay(150);
    expect(await slotsFor(follower('g')).claim(name, 0, 60_000)).toBe(true);
    expect(await seat.watchesClosely(await staleRead(name))).toBe(true);
    expect(await slotsOf(name, 'f')).toEqual([1]);
    expect(await slotsOf(name, 'g')).toEqual([0]);
  });

  it('gives up all but one slot when a read shows it holding two (an earlier claim whose answer was lost)', async () => {
    const name = await heldLease();
    const leases = follower('f', [0]);
    const seat = new StandbySeat(leases, name, 2, 600);
    expect(await seat.watchesClosely(await leases.describe(name))).toBe(true);
    await slotsFor(leases).claim(name, 1, 6_000);
    expect(await slotsOf(name, 'f')).toEqual([0, 1]);
    expect(await seat.watchesClosely(await leases.describe(name))).toBe(true);
    expect(await slotsOf(name, 'f')).toEqual([0]);
    await seat.leave();
    expect(await slotsOf(name, 'f')).toEqual([]);
  });
});
