/**
 * The parts the chaos run is built from, each shown to do what the run's verdict relies on: the
 * network faults fire at the rates asked (a lost answer's write did land, also behind the SDK's
 * throttled resends; a throttled or conflicted request wrote nothing), the ledger refuses a lower token and keeps landing order, and the seeded
 * choices replay.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable } from '../lib/index.js';
import { HEALTHY_NETWORK, injectNetworkFaults, type NetworkFaultSettings } from '../lib/testing/faults.js';
import { seededRandom } from '../harness/local/random.js';
import { appendIfNotStale, readLedger } from '../harness/cluster/ledger.js';
import { wallOffset } from '../harness/chaos/plan.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

describe('chaos building blocks', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('chaos-tools');
  let admin: DynamoDBClient;
  beforeAll(async () => {
    admin = clientFor(backend);
    await createLeaseTable(admin, tableName);
  });
  afterAll(() => admin.destroy());

  const faulty = (faults: Partial<NetworkFaultSettings>) => {
    const client = clientFor(backend);
    const settings = { ...HEALTHY_NETWORK, ...faults };
    return { client, fired: injectNetworkFaults(client, () => settings, seededRandom(1)) };
  };
  const put = (client: DynamoDBClient, name: string) =>
    client.send(new PutItemCommand({ TableName: tableName, Item: { name: { S: name } } }));
  const stored = async (name: string) =>
    (await admin.send(new GetItemCommand({ TableName: tableName, Key: { name: { S: name } }, ConsistentRead: true }))).Item !== undefined;

  it('loses the answer of a write that landed', async () => {
    const { client, fired } = faulty({ dropRate: 1 });
    await expect(put(client, 'dropped')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(fired.dropped).toBe(1);
    expect(await stored('dropped')).toBe(true);
    client.destroy();
  });

  it('throttles a request before it is sent, so nothing is written', async () => {
    const { client, fired } = faulty({ throttleRate: 1 });
    await expect(put(client, 'throttled')).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(fired.throttled).toBe(1);
    expect(await stored('throttled')).toBe(false);
    client.destroy();
  });

  it('lands a write whose SDK resends it then throttles, so the caller sees only throttling', async () => {
    const { client, fired } = faulty({ hiddenRetryRate: 1 });
    const error = (await put(client, 'resent').catch((e: unknown) => e)) as { name: string; $metadata: { attempts: number } };
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(error.$metadata.attempts).toBeGreaterThan(1);
    expect(fired).toMatchObject({ hiddenRetries: 1, throttled: error.$metadata.attempts - 1 });
    expect(await stored('resent')).toBe(true);
    client.destroy();
  });

  it('makes a write meet another process\'s transaction, writing nothing', async () => {
    const { client, fired } = faulty({ conflictRate: 1 });
    await expect(put(client, 'conflicted')).rejects.toMatchObject({ name: 'TransactionConflictException' });
    expect(fired.conflicts).toBe(1);
    expect(await stored('conflicted')).toBe(false);
    client.destroy();
  });

  it('fires at about the rate asked', async () => {
    const { client, fired } = faulty({ throttleRate: 0.3 });
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => put(client, `rate-${i}`)));
    const rejected = outcomes.filter((o) => o.status === 'rejected').length;
    expect(rejected).toBe(fired.throttled);
    expect(rejected).toBeGreaterThan(30);
    expect(rejected).toBeLessThan(90);
    client.destroy();
  });

  it('keeps the ledger in landing order and refuses a token below the highest it took', async () => {
    const ledger = { tableName, ledgerName: 'ledger' };
    expect(await appendIfNotStale(admin, ledger, 3, 'w1#1')).toBe(true);
    expect(await appendIfNotStale(admin, ledger, 3, 'w1#2')).toBe(true);
    expect(await appendIfNotStale(admin, ledger, 2, 'w0#7')).toBe(false);
    expect(await appendIfNotStale(admin, ledger, 4, 'w2#1')).toBe(true);
    expect(await readLedger(admin, ledger)).toEqual([
      { token: 3, id: 'w1#1' },
      { token: 3, id: 'w1#2' },
      { token: 4, id: 'w2#1' },
    ]);
  });

  it('reports a ledger append the SDK resent as outcome-unknown, since it may have landed (it did)', async () => {
    const ledger = { tableName, ledgerName: 'ledger-resent' };
    const { client } = faulty({ hiddenRetryRate: 1 });
    await expect(appendIfNotStale(client, ledger, 1, 'w1#1')).rejects.toMatchObject({ name: 'LeaseStoreError', outcomeUnknown: true });
    expect(await readLedger(admin, ledger)).toEqual([{ token: 1, id: 'w1#1' }]);
    client.destroy();
  });

  it('replays the same choices from the same seed, and skews clocks only within the allowance', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const random = seededRandom(7);
    const offsets = Array.from({ length: 1_000 }, () => wallOffset(random, 200));
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeLessThanOrEqual(200);
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(190);
  });
});
