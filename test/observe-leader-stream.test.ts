/**
 * observeLeader following the lease table's DynamoDB stream, on real local servers: DynamoDB Local
 * has streams, dynalite has none (the cases that need one are skipped there by name, and the
 * fallback to looks is tested on both). Faults are injected into the streams client's requests
 * through its SDK middleware stack; every request that does go out reaches the real server.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeaseTable,
  LeaseClient,
  ManualClock,
  observeLeader,
  verifyLeaseTable,
  type Lease,
  type LeaderInfo,
  type ObserveLeaderOptions,
} from '../lib/index.js';
import { localClientConfig } from '../lib/testing/local-dynamodb.js';
import { backends, clientFor, uniqueTableName, type Backend } from './support/backends.js';
import { countRequests, networkError } from './support/faults.js';

const until = async (condition: () => boolean, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
    await delay(10);
  }
};

/** Long enough that no look is ever due for it while a case runs: what arrives came from the stream. */
const TEN_MINUTES = 600_000;
const LEASE_MS = 5_000;
const SKEW_MS = 100;

const streamsClientFor = (backend: Backend) =>
  // A real table's stream has an endpoint of its own (streams.dynamodb.<region>...): the SDK's default.
  new DynamoDBStreamsClient(backend.name === 'endpoint' ? {} : localClientConfig(backend.endpoint));

/** An error shaped like the SDK's for a DynamoDB Streams answer with HTTP 400. */
const streamsError = (name: string) => () =>
  Object.assign(new Error(`${name} (injected)`), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });

/**
 * Makes the client's requests fail before they are sent, with the error `fault` gives for the
 * operation (`GetRecords`, `DescribeTable`, ...), while it gives one.
 */
function failRequests(client: DynamoDBStreamsClient | DynamoDBClient, fault: (operation: string) => Error | undefined): { fired(): number; sent(): number } {
  let fired = 0;
  let sent = 0;
  const failing =
    <A, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) =>
    async (args: A): Promise<R> => {
      const error = fault(String(context.commandName ?? '').replace(/Command$/, ''));
      if (error) {
        fired++;
        throw error;
      }
      sent++;
      return next(args);
    };
  const options = { step: 'initialize', name: 'leaseholdTestFault' } as const;
  if (client instanceof DynamoDBStreamsClient) client.middlewareStack.add(failing, options);
  else client.middlewareStack.add(failing, options);
  return { fired: () => fired, sent: () => sent };
}

/** observeLeader run in the background: what it yielded, when, and the error it ended with. */
function watch(options: ObserveLeaderOptions) {
  const seen: { leader: LeaderInfo | undefined; at: number }[] = [];
  let failure: unknown;
  let ended = false;
  const done = (async () => {
    for await (const leader of observeLeader(options)) seen.push({ leader, at: performance.now() });
  })()
    .catch((error: unknown) => {
      failure = error;
    })
    .finally(() => {
      ended = true;
    });
  return { seen, leaders: () => seen.map((s) => s.leader), failure: () => failure, ended: () => ended, done };
}

type Expected = LeaderInfo | undefined;

/**
 * Four holders taking turns on one name, on a manual clock whose wall time starts at the host's:
 * an observer on the host's clock sees every lease far from its expiry. Each change records the
 * leader it leaves and when its write was answered.
 */
function holdersOn(tableName: string, client: DynamoDBClient, name: string) {
  const clock = new ManualClock({ wallStart: Date.now(), monotonicStart: performance.now() });
  const holders = ['h0', 'h1', 'h2', 'h3'].map((holderId) => new LeaseClient({ tableName, client, holderId, clock, skewMs: SKEW_MS }));
  const expected: Expected[] = [];
  const answeredAt: number[] = [];
  let lease: Lease | undefined;
  const changed = () => {
    expected.push(lease && { holderId: lease.holderId, fencingToken: lease.fencingToken, isSelf: false });
    answeredAt.push(performance.now());
  };
  const acquireBy = async (i: number) => {
    const acquired = await holders[i % holders.length]!.tryAcquire(name, { leaseMs: LEASE_MS });
    if (!acquired) throw new Error(`${holders[i % holders.length]!.holderId} could not acquire ${name}`);
    lease = acquired;
    changed();
  };
  return {
    expected,
    answeredAt,
    held: () => lease !== undefined,
    acquireBy,
    async release() {
      await lease!.release();
      lease = undefined;
      changed();
    },
    /** Lets the lease lapse on the holders' clock, and another holder takes it. */
    async takeOverBy(i: number) {
      const from = holders.findIndex((h) => h.holderId === lease!.holderId);
      await clock.advance(LEASE_MS + SKEW_MS + 1);
      await acquireBy(from === i % holders.length ? i + 1 : i);
    },
    async renew() {
      await lease!.renew();
    },
  };
}

/** `observed` shows some of `expected`'s changes, each once, in order, and ends with the last. */
function expectInOrderOnce(observed: Expected[], expected: Expected[]): void {
  let at = -1;
  for (const leader of observed) {
    const found = expected.findIndex((e, i) => i > at && JSON.stringify(e) === JSON.stringify(leader));
    expect(found, `${JSON.stringify(leader)} after ${JSON.stringify(expected[at])}, in order and once`).toBeGreaterThan(at);
    at = found;
  }
  expect(observed.at(-1)).toEqual(expected.at(-1));
}

describe('observeLeader options for a stream', () => {
  const [backend] = backends();
  const leases = new LeaseClient({ tableName: 'leases', client: clientFor(backend!) });
  const client = clientFor(backend!);
  const streams = streamsClientFor(backend!);
  it.each([
    ['a DynamoDBClient to read the stream', 'stream.streams', { stream: { client, streams: client } }],
    ['a DynamoDBStreamsClient to find it', 'stream.client', { stream: { client: streams, streams } }],
    ['a streams client without send', 'stream.streams', { stream: { client, streams: {} } }],
    ['a stream option that is not an object', 'stream', { stream: true }],
    ['an unknown stream option', 'stream.arn', { stream: { client, streams, arn: 'arn:aws:dynamodb:x' } }],
    ['a lease client without a table name', 'leases', { leases: { holderId: 'h', clock: leases.clock, peek: leases.peek.bind(leases) }, stream: { client, streams } }],
    ['an unknown option', 'options.streams', { streams }],
  ])('rejects %s (%s)', async (_what, argument, override) => {
    const options = { leases, name: 'x', ...override } as ObserveLeaderOptions;
    await expect(observeLeader(options).next()).rejects.toMatchObject({ name: 'InvalidArgumentError', argument });
  });
});

describe.each(backends())('observeLeader with a stream on $name', (backend) => {
  const noStreams = !backend.features.streams;
  const admin = clientFor(backend);
  const withStream = uniqueTableName('observe-stream');
  const withoutStream = uniqueTableName('observe-plain');
  let n = 0;
  const fresh = () => `observed-${++n}`;
  const opened: DynamoDBStreamsClient[] = [];
  const streamsClient = () => {
    const client = streamsClientFor(backend);
    opened.push(client);
    return client;
  };
  /** The stream option: a DynamoDBClient to find the stream, `streams` (a fresh client by default) to read it. */
  const streamOf = (streams = streamsClient(), client = clientFor(backend)) => ({ client, streams });
  const observerOn = (tableName: string, clock?: ManualClock) =>
    new LeaseClient({ tableName, client: clientFor(backend), holderId: 'observer', skewMs: SKEW_MS, ...(clock && { clock }) });

  beforeAll(async () => {
    await createLeaseTable(admin, withoutStream);
    if (!noStreams) await createLeaseTable(admin, withStream, { stream: true });
  });
  afterAll(() => {
    for (const client of opened) client.destroy();
    admin.destroy();
  });

  it.skipIf(noStreams)('createLeaseTable turns the stream on with new and old images (needs streams)', async () => {
    await expect(verifyLeaseTable(admin, withStream, { stream: true })).resolves.toBeUndefined();
  });

  it('refuses stream: true for a lease table without a stream, and a stream option that is not a boolean', async () => {
    await expect(createLeaseTable(admin, withoutStream, { stream: true })).rejects.toMatchObject({
      name: 'TableSchemaMismatchError',
      message: expect.stringContaining('it has no stream'),
    });
    await expect(verifyLeaseTable(admin, withoutStream, { stream: true })).rejects.toMatchObject({ name: 'TableSchemaMismatchError' });
    await expect(createLeaseTable(admin, withoutStream, { stream: 'yes' } as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'stream' });
  });

  it.skipIf(noStreams)(
    'sees each of 100 changes of leader from the stream (pollMs 10 min) once, in token order, and nothing for renewals (needs streams)',
    async () => {
      const name = fresh();
      const stop = new AbortController();
      const observer = watch({ leases: observerOn(withStream), name, pollMs: TEN_MINUTES, signal: stop.signal, stream: streamOf() });
      await until(() => observer.seen.length === 1, 'the first look');
      const holders = holdersOn(withStream, clientFor(backend), name);
      // A fixed pseudo-random walk: acquisitions, releases and takeovers after expiry, 0-2 renewals after each.
      let seed = 7;
      const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
      for (let i = 0; i < 100; i++) {
        if (!holders.held()) await holders.acquireBy(i);
        else if (random() < 0.5) await holders.release();
        else await holders.takeOverBy(i + 1);
        if (holders.held()) for (let r = Math.floor(random() * 3); r > 0; r--) await holders.renew();
      }
      await until(() => observer.seen.length >= 101 || observer.failure() !== undefined, 'all 100 changes');
      stop.abort();
      await observer.done;
      expect(observer.failure()).toBeUndefined();
      expect(observer.leaders()).toEqual([undefined, ...holders.expected]);
      const tokens = holders.expected.flatMap((leader) => (leader ? [leader.fencingToken] : []));
      expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
      const latencies = holders.answeredAt.map((answered, i) => observer.seen[i + 1]!.at - answered).sort((a, b) => a - b);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(0);
      console.log(`observeLeader, stream on ${backend.name}: write answered to change yielded, 100 changes: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`);
    },
    120_000,
  );

  it.skipIf(noStreams).each([
    ['throttled (LimitExceededException)', streamsError('LimitExceededException'), true],
    ['lost connections', networkError, true],
    ['expired iterators (ExpiredIteratorException)', streamsError('ExpiredIteratorException'), false],
    ['trimmed records (TrimmedDataAccessException)', streamsError('TrimmedDataAccessException'), false],
  ])('keeps following through reads that fail with %s, and sees the changes after (needs streams)', async (_what, error, keepsItsPlace) => {
    const name = fresh();
    const streams = streamsClient();
    let failing = false;
    const faults = failRequests(streams, (operation) => (failing && operation === 'GetRecords' ? error() : undefined));
    const stop = new AbortController();
    const observer = watch({ leases: observerOn(withStream), name, pollMs: TEN_MINUTES, signal: stop.signal, stream: streamOf(streams) });
    await until(() => observer.seen.length === 1, 'the first look');
    const holders = holdersOn(withStream, clientFor(backend), name);
    await holders.acquireBy(0);
    await until(() => observer.seen.length === 2, 'the first acquisition');
    failing = true;
    await holders.release();
    await holders.acquireBy(1);
    await holders.takeOverBy(2);
    await until(() => faults.fired() >= 3, 'three failed reads');
    failing = false;
    await holders.renew();
    await holders.release();
    await holders.acquireBy(3);
    await until(() => JSON.stringify(observer.leaders().at(-1)) === JSON.stringify(holders.expected.at(-1)) || observer.failure() !== undefined, 'the last change');
    stop.abort();
    await observer.done;
    expect(observer.failure()).toBeUndefined();
    // Resent reads keep the place in the stream and miss nothing; a lost place is made good by a
    // look, which shows only where the lease stands by then.
    if (keepsItsPlace) expect(observer.leaders()).toEqual([undefined, ...holders.expected]);
    else expectInOrderOnce(observer.leaders(), [undefined, ...holders.expected]);
  });

  it.skipIf(noStreams)('starts by looking while the stream cannot be found, and follows it once it can (needs streams)', async () => {
    const name = fresh();
    const streams = streamsClient();
    let failing = true;
    const faults = failRequests(streams, (operation) => (failing && operation === 'DescribeStream' ? networkError() : undefined));
    const stop = new AbortController();
    const observer = watch({ leases: observerOn(withStream), name, pollMs: TEN_MINUTES, signal: stop.signal, stream: streamOf(streams) });
    await until(() => observer.seen.length === 1, 'the first look, while the stream cannot be found');
    expect(faults.fired()).toBeGreaterThan(0);
    failing = false;
    const holders = holdersOn(withStream, clientFor(backend), name);
    await holders.acquireBy(0);
    await holders.release();
    await holders.acquireBy(1);
    await until(() => JSON.stringify(observer.leaders().at(-1)) === JSON.stringify(holders.expected.at(-1)), 'the last change, from the stream');
    stop.abort();
    await observer.done;
    expectInOrderOnce(observer.leaders(), [undefined, ...holders.expected]);
  });

  it.skipIf(noStreams)('follows the new stream when the stream is turned off and on again (needs streams)', async () => {
    const tableName = uniqueTableName('observe-restream');
    await createLeaseTable(admin, tableName, { stream: true });
    const name = fresh();
    const stop = new AbortController();
    const observer = watch({ leases: observerOn(tableName), name, pollMs: TEN_MINUTES, signal: stop.signal, stream: streamOf() });
    await until(() => observer.seen.length === 1, 'the first look');
    const holders = holdersOn(tableName, clientFor(backend), name);
    await holders.acquireBy(0);
    await until(() => observer.seen.length === 2, 'the first acquisition');
    await admin.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: false } }));
    await admin.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }));
    await holders.release();
    await holders.acquireBy(1);
    await until(() => JSON.stringify(observer.leaders().at(-1)) === JSON.stringify(holders.expected.at(-1)), 'the last change, from the new stream');
    stop.abort();
    await observer.done;
    expect(observer.failure()).toBeUndefined();
    expectInOrderOnce(observer.leaders(), [undefined, ...holders.expected]);
  });

  it.skipIf(noStreams)('looks at the lease for each write of a stream without images (KEYS_ONLY) (needs streams)', async () => {
    const tableName = uniqueTableName('observe-keys');
    await createLeaseTable(admin, tableName);
    await admin.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } }));
    const name = fresh();
    const stop = new AbortController();
    const observer = watch({ leases: observerOn(tableName), name, pollMs: TEN_MINUTES, signal: stop.signal, stream: streamOf() });
    await until(() => observer.seen.length === 1, 'the first look');
    const holders = holdersOn(tableName, clientFor(backend), name);
    for (const change of [() => holders.acquireBy(0), () => holders.release(), () => holders.acquireBy(1), () => holders.takeOverBy(2)]) {
      await change();
      await until(() => observer.seen.length === holders.expected.length + 1, `change ${holders.expected.length}`);
    }
    stop.abort();
    await observer.done;
    expect(observer.leaders()).toEqual([undefined, ...holders.expected]);
  });

  it('ends with the error when the stream may not be found (access denied)', async () => {
    const client = clientFor(backend);
    failRequests(client, (operation) => (operation === 'DescribeTable' ? streamsError('AccessDeniedException')() : undefined));
    const observer = watch({ leases: observerOn(withoutStream), name: fresh(), pollMs: TEN_MINUTES, stream: streamOf(streamsClient(), client) });
    await until(observer.ended, 'the end of the observation');
    expect(observer.failure()).toMatchObject({ name: 'LeaseStoreError', retryable: false, cause: { name: 'AccessDeniedException' } });
  });

  it.skipIf(noStreams)('ends with the error when the stream may not be read (access denied) (needs streams)', async () => {
    const streams = streamsClient();
    failRequests(streams, (operation) => (operation === 'GetRecords' ? streamsError('AccessDeniedException')() : undefined));
    const observer = watch({ leases: observerOn(withStream), name: fresh(), pollMs: TEN_MINUTES, stream: streamOf(streams) });
    await until(observer.ended, 'the end of the observation');
    expect(observer.failure()).toMatchObject({ name: 'LeaseStoreError', retryable: false, cause: { name: 'AccessDeniedException' } });
  });

  it.each([
    ['a stream option, on a table without a stream', true],
    ['no stream option', false],
  ])('with %s, looks only when the lease can first expire (ManualClock)', async (_what, following) => {
    const clock = new ManualClock();
    const name = fresh();
    const observerClient = clientFor(backend);
    const reads = countRequests(observerClient);
    const leases = new LeaseClient({ tableName: withoutStream, client: observerClient, holderId: 'observer', clock, skewMs: SKEW_MS });
    const holder = new LeaseClient({ tableName: withoutStream, client: clientFor(backend), holderId: 'h0', clock, skewMs: SKEW_MS });
    const lease = (await holder.tryAcquire(name, { leaseMs: 10_000 }))!;
    const stop = new AbortController();
    const changes = observeLeader({ leases, name, pollMs: TEN_MINUTES, signal: stop.signal, ...(following && { stream: streamOf() }) });
    expect((await changes.next()).value).toEqual({ holderId: 'h0', fencingToken: lease.fencingToken, isSelf: false });
    const next = changes.next();
    await clock.advance(9_000);
    expect(reads.of('GetItem')).toBe(1);
    await clock.advance(1_000 + SKEW_MS + 1);
    expect((await next).value).toBeUndefined();
    expect(reads.of('GetItem')).toBe(2);
    stop.abort();
    expect(await changes.next()).toEqual({ done: true, value: undefined });
  });

  it('ends cleanly when the signal aborts or the loop is left, and stops reading the stream', async () => {
    const streams = streamsClient();
    const requests = failRequests(streams, () => undefined);
    const stop = new AbortController();
    const aborted = watch({ leases: observerOn(noStreams ? withoutStream : withStream), name: fresh(), pollMs: TEN_MINUTES, signal: stop.signal, stream: streamOf(streams) });
    await until(() => aborted.seen.length === 1, 'the first look');
    stop.abort();
    await aborted.done;
    expect(aborted.failure()).toBeUndefined();
    for await (const leader of observeLeader({ leases: observerOn(noStreams ? withoutStream : withStream), name: fresh(), pollMs: TEN_MINUTES, stream: streamOf(streams) })) {
      expect(leader).toBeUndefined();
      break;
    }
    // Long enough for a reader still running to send again (reads every 0.5 s, rechecks from 1 s).
    const sent = requests.sent();
    await delay(1_500);
    expect(requests.sent()).toBe(sent);
  });
});
