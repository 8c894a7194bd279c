/**
 * The TCP fault proxy does what each fault says, seen by a real `DynamoDBClient` talking to a real
 * server through it. Every client through the proxy makes a single attempt (`maxAttempts: 1`), so
 * what a test sees is the wire's doing and not the SDK's retry policy.
 */
import { DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { localClientConfig } from '../lib/testing/local-dynamodb.js';
import { startFaultProxy, type FaultProxy } from '../harness/local/tcp-proxy.js';
import { createLeaseTable } from '../lib/index.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

const backend = referenceBackend();

// The proxy only ever connects to loopback; a real AWS endpoint is out of its reach.
describe.skipIf(backend.name === 'endpoint')(`the TCP fault proxy, in front of ${backend.name}`, () => {
  const tableName = uniqueTableName('tcp-proxy');
  // Straight to the server: the test's own view of what landed.
  const direct = clientFor(backend);
  const opened: Array<{ close(): unknown }> = [];

  const proxy = async (): Promise<FaultProxy> => {
    const started = await startFaultProxy(backend.endpoint);
    opened.push(started);
    return started;
  };
  const through = (p: FaultProxy, config: DynamoDBClientConfig = {}): DynamoDBClient => {
    const client = new DynamoDBClient({ ...localClientConfig(p.endpoint), maxAttempts: 1, ...config });
    opened.push({ close: () => client.destroy() });
    return client;
  };
  const getSeed = () => new GetItemCommand({ TableName: tableName, Key: { name: { S: 'seed' } }, ConsistentRead: true });
  /** A promise's outcome, readable synchronously, so a test can assert a request is still pending. */
  const watch = <T>(promise: Promise<T>) => {
    const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
    const done = promise.then(
      (value) => Object.assign(state, { settled: true, value }),
      (error: unknown) => Object.assign(state, { settled: true, error }),
    );
    return { state, done };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    await createLeaseTable(direct, tableName);
    await direct.send(new PutItemCommand({ TableName: tableName, Item: { name: { S: 'seed' }, data: { S: 'hello' } } }));
  });
  afterEach(async () => {
    // Clients first: a proxy closing under a client's pool is fine, but this order is the tidy one.
    for (const thing of opened.reverse()) await thing.close();
    opened.length = 0;
  });
  afterAll(() => direct.destroy());

  it('forwards requests and answers unchanged', async () => {
    const p = await proxy();
    const client = through(p);
    const tables = await client.send(new ListTablesCommand({}));
    expect(tables.TableNames).toContain(tableName);
    const { Item } = await client.send(getSeed());
    expect(Item).toEqual({ name: { S: 'seed' }, data: { S: 'hello' } });
    // Keep-alive: both requests went over one connection.
    expect(p.stats).toMatchObject({ connectionsAccepted: 1, connectionsOpen: 1, bytesDropped: 0, connectionsReset: 0 });
    expect(p.stats.bytesToServer).toBeGreaterThan(0);
    expect(p.stats.bytesToClient).toBeGreaterThan(0);
  });

  it('blackhole: a request never finishes and nothing tells the client; only its own abort ends it', async () => {
    const p = await proxy();
    const client = through(p);
    await client.send(getSeed());
    p.blackhole();

    const timedOut = await client.send(getSeed(), { abortSignal: AbortSignal.timeout(500) }).catch((error: unknown) => error);
    // The SDK's retry layer answers the abort itself: a plain AbortError, the signal's reason not attached.
    expect(timedOut).toMatchObject({ name: 'AbortError' });

    // Without a deadline the request just hangs: no reset, no close, no answer.
    const controller = new AbortController();
    const pending = watch(client.send(getSeed(), { abortSignal: controller.signal }));
    await sleep(1_500);
    expect(pending.state.settled).toBe(false);
    controller.abort();
    await pending.done;
    expect(pending.state.error).toMatchObject({ name: 'AbortError' });

    expect(p.stats.connectionsReset).toBe(0);
    expect(p.stats.connectionsBlackholed).toBeGreaterThanOrEqual(2);
    // Aborting destroyed each request's socket; the proxy let go of its side too.
    await vi.waitFor(() => expect(p.stats.connectionsOpen).toBe(0), { timeout: 5_000 });
    expect(p.stats.bytesDropped).toBeGreaterThan(0);
  });

  it('reset: requests fail at once with a connection reset, on the pooled socket and on new ones', async () => {
    const p = await proxy();
    const client = through(p);
    await client.send(getSeed());
    p.reset();
    expect(p.stats.connectionsReset).toBe(1); // the idle keep-alive connection
    // The SDK labels ECONNRESET a TimeoutError (it is in its list of "timeout" codes), so the code is what tells.
    const isReset = (error: unknown) => {
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toMatchObject({ name: 'AbortError' });
      expect(error).toMatchObject({ code: 'ECONNRESET' });
    };

    // Sent at once, this may still go out on the pooled socket before the client has read the RST
    // ("write ECONNRESET"), or on a new one: either way a reset. A liveness bound only, not a timing one.
    isReset(await client.send(getSeed(), { abortSignal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e));
    // Once the RST has been read the pool is empty: a new connection, reset on arrival ("connect ECONNRESET").
    await sleep(200);
    const accepted = p.stats.connectionsAccepted;
    isReset(await client.send(getSeed(), { abortSignal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e));
    expect(p.stats.connectionsAccepted).toBe(accepted + 1);
    expect(p.stats.connectionsReset).toBeGreaterThanOrEqual(2);

    // Reset sockets leave the SDK's pool: once healed, the same client works again.
    p.heal();
    await expect(client.send(getSeed())).resolves.toMatchObject({ Item: { data: { S: 'hello' } } });
    expect(p.stats.connectionsOpen).toBe(1);
  });

  it('delay: a request and its answer each take at least the delay', async () => {
    const p = await proxy();
    const client = through(p);
    await client.send(getSeed());
    p.delay(300);
    const started = performance.now();
    await client.send(getSeed());
    // The request chunk waits 300 ms, then the answer chunk does. Lower bound only: the machine is noisy.
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 300 - 5);
  });

  it('holdAnswers: the write lands while its answer is held, and the answer arrives after heal', async () => {
    const p = await proxy();
    const client = through(p);
    await client.send(getSeed());
    p.holdAnswers();
    const put = watch(client.send(new PutItemCommand({ TableName: tableName, Item: { name: { S: 'held-write' }, data: { S: 'landed' } } })));

    await vi.waitFor(
      async () => {
        const { Item } = await direct.send(new GetItemCommand({ TableName: tableName, Key: { name: { S: 'held-write' } }, ConsistentRead: true }));
        expect(Item?.['data']).toEqual({ S: 'landed' });
      },
      { timeout: 10_000, interval: 100 },
    );
    // Give the answer time to have come back from the server: it must be in the proxy, not the client.
    await vi.waitFor(() => expect(p.stats.bytesHeld).toBeGreaterThan(0), { timeout: 10_000, interval: 50 });
    await sleep(200);
    expect(put.state.settled).toBe(false);

    p.heal();
    await put.done;
    expect(put.state.error).toBeUndefined();
    expect(put.state.value).toMatchObject({ $metadata: { httpStatusCode: 200 } });
    expect(p.stats).toMatchObject({ bytesHeld: 0, bytesDropped: 0 });
  });

  describe('after heal from a blackhole', () => {
    it('a new request on the same client works when the blackholed socket was destroyed by an abort', async () => {
      const p = await proxy();
      const client = through(p);
      await client.send(getSeed());
      p.blackhole();
      await expect(client.send(getSeed(), { abortSignal: AbortSignal.timeout(500) })).rejects.toMatchObject({ name: 'AbortError' });
      p.heal();
      // Aborting destroyed the request's socket, so the SDK opens a new one, which works.
      await expect(client.send(getSeed(), { abortSignal: AbortSignal.timeout(10_000) })).resolves.toMatchObject({
        Item: { data: { S: 'hello' } },
      });
      expect(p.stats.connectionsAccepted).toBe(2);
    });

    it('a request on the same client hangs when the blackhole hit its idle keep-alive socket; a fresh client works', async () => {
      const p = await proxy();
      const client = through(p);
      await client.send(getSeed());
      // The blackhole comes and goes while the client is idle: as a NAT forgetting an idle mapping.
      p.blackhole();
      p.heal();

      // The SDK (Node's keep-alive agent) reuses the pooled socket, which nothing told it was dead.
      const reused = watch(client.send(getSeed(), { abortSignal: AbortSignal.timeout(1_500) }));
      await reused.done;
      expect(reused.state.error).toMatchObject({ name: 'AbortError' });
      expect(p.stats.connectionsAccepted).toBe(1);
      expect(p.stats.bytesDropped).toBeGreaterThan(0);

      // The abort destroyed that socket; the next request on the same client gets a new one.
      await expect(client.send(getSeed(), { abortSignal: AbortSignal.timeout(10_000) })).resolves.toMatchObject({
        Item: { data: { S: 'hello' } },
      });
      expect(p.stats.connectionsAccepted).toBe(2);

      // A fresh client has no pool to inherit a dead socket from.
      await expect(through(p).send(getSeed(), { abortSignal: AbortSignal.timeout(10_000) })).resolves.toMatchObject({
        Item: { data: { S: 'hello' } },
      });
    });
  });

  it('close() destroys every connection, blackholed and held ones included', async () => {
    const p = await proxy();
    const a = through(p);
    const b = through(p);
    await a.send(getSeed());
    await b.send(getSeed());
    p.blackhole();
    const hanging = watch(a.send(getSeed()));
    await sleep(100);
    await p.close();
    expect(p.stats.connectionsOpen).toBe(0);
    // The proxy closing the socket is a FIN the client does hear: the hung request ends.
    await hanging.done;
    expect(hanging.state.error).toBeInstanceOf(Error);
  });
});
