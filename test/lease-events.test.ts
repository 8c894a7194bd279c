/**
 * Every change of leadership as an event, from the lease table's real DynamoDB stream: 100
 * acquisitions of three names, with renewals, standby writes, releases, revokes, reaps and
 * takeovers of lapsed leases between them, read back from the stream and published through
 * `eventBridgePublisher` in order, once each. dynalite has no streams: skipped there by name.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, type PutEventsCommandInput, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient, ManualClock } from '../lib/index.js';
import { LeaseStore } from '../lib/core/lease-store.js';
import { reapAfterOf } from '../lib/core/schema.js';
import {
  eventBridgePublisher,
  LEASE_ACQUIRED,
  LEASE_EVENT_SOURCE,
  LEASE_EXPIRED,
  LEASE_RELEASED,
  leaseEventsOf,
  publishLeaseEvents,
  readReaperConfig,
  reapExpiredLeases,
  type LeaseEvent,
} from '../lib/serverless/index.js';
import { readLeaseEventsConfig } from '../lib/serverless/lease-events-config.js';
import { backends, clientFor, uniqueTableName } from './support/backends.js';
import { enableStream, readWholeStream } from './support/table-stream.js';

const NAMES = ['alpha', 'beta', 'gamma'] as const;
const ACQUISITIONS = 100;
const LEASE_MS = 10_000;
const SKEW_MS = 1_000;

/**
 * An EventBridge client whose PutEvents calls stop in its own middleware: it records each call's
 * entries and answers per entry, failing those `fail` picks (the SDK still builds each request).
 */
function recordingBus(fail: (entry: PutEventsRequestEntry) => boolean = () => false) {
  const calls: PutEventsRequestEntry[][] = [];
  const delivered: LeaseEvent[] = [];
  const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'leasehold', secretAccessKey: 'leasehold' } });
  client.middlewareStack.add(
    () => async (args) => {
      const { Entries = [] } = args.input as PutEventsCommandInput;
      calls.push(Entries);
      const results = Entries.map((entry) => {
        if (fail(entry)) return { ErrorCode: 'InternalFailure', ErrorMessage: 'injected' };
        expect(entry.Source).toBe(LEASE_EVENT_SOURCE);
        delivered.push({ detailType: entry.DetailType, detail: JSON.parse(entry.Detail ?? '{}') } as LeaseEvent);
        return { EventId: randomUUID() };
      });
      const output: PutEventsCommandOutput = {
        Entries: results,
        FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
        $metadata: { httpStatusCode: 200 },
      };
      return { output, response: {} };
    },
    { step: 'initialize', name: 'recordPutEvents' },
  );
  return { client, calls, delivered };
}

/** One event per name, token and type: the key consumers deduplicate by. */
const keyOf = (event: LeaseEvent) => `${event.detail.name}#${event.detail.fencingToken}#${event.detailType}`;
const ofName = (events: readonly LeaseEvent[], name: string) => events.filter((event) => event.detail.name === name);

describe.each(backends())('lease events from the table stream, on $name', (backend) => {
  describe.skipIf(!backend.features.streams)('100 changes of leadership (needs streams)', () => {
    const tableName = uniqueTableName('lease-events');
    let client: DynamoDBClient;
    /** The events the changes should produce, in the order they were made. */
    const expected: LeaseEvent[] = [];
    let renewals = 0;
    let standbyWrites = 0;
    let records: DynamoDBRecord[];

    beforeAll(async () => {
      client = clientFor(backend);
      await createLeaseTable(client, tableName);
      const streamArn = await enableStream(client, tableName);
      const clock = new ManualClock({ wallStart: Date.now() });
      const clientOf = (holderId: string) => new LeaseClient({ tableName, client, clock, holderId, skewMs: SKEW_MS });
      const store = new LeaseStore(client, tableName);
      const holders = new Map<string, string>();

      let name: (typeof NAMES)[number] = NAMES[0];
      for (let i = 0; i < ACQUISITIONS; i++) {
        const holderId = `worker-${i}`;
        const acquiredAt = clock.wallNow();
        const lease = await clientOf(holderId).tryAcquire(name, { leaseMs: LEASE_MS });
        if (!lease) throw new Error(`acquisition ${i} of ${name} was refused`);
        const previousHolderId = holders.get(name);
        expected.push({
          detailType: LEASE_ACQUIRED,
          detail: { name, holderId, fencingToken: lease.fencingToken, acquiredAt, ...(previousHolderId && { previousHolderId }) },
        });
        holders.set(name, holderId);
        for (let renewal = 0; renewal < i % 3; renewal++) {
          await clock.advance(1_000);
          await lease.renew();
          renewals++;
        }
        // A follower keeps its standby slot: a write that changes neither holder, token nor state. Its
        // `until` differs every time, since a write that changes nothing leaves no stream record.
        const until = clock.wallNow() + LEASE_MS + i;
        if (await store.claimStandby({ name, slot: 0, holderId: `standby-of-${name}`, until, wallNow: clock.wallNow() })) standbyWrites++;
        const base = { name, holderId, fencingToken: lease.fencingToken };
        switch (i % 4) {
          case 0: // the holder releases
            expected.push({ detailType: LEASE_RELEASED, detail: { ...base, releasedAt: clock.wallNow() } });
            await lease.release();
            break;
          case 1: // an operator revokes
            expected.push({ detailType: LEASE_RELEASED, detail: { ...base, releasedAt: clock.wallNow() } });
            await clientOf('operator').revoke(name, lease.fencingToken);
            break;
          case 2: {
            // the holder dies and the reaper marks its lease expired
            const expiredAt = lease.expiresAt;
            // The reaper index finds a lease once the minute its expiry fell in has passed.
            await clock.advance(reapAfterOf(expiredAt) + SKEW_MS + 1 - clock.wallNow());
            const reaped = await reapExpiredLeases({ client, tableName, skewMs: SKEW_MS, clock });
            expect(reaped.reaped).toBe(1);
            expected.push({ detailType: LEASE_EXPIRED, detail: { ...base, expiredAt } });
            break;
          }
          case 3: // the holder dies and the next holder takes the lapsed lease over: same name again
            await clock.advance(LEASE_MS + SKEW_MS + 1);
            continue;
        }
        name = NAMES[(NAMES.indexOf(name) + 1) % NAMES.length]!;
      }
      records = await readWholeStream(backend, client, tableName, streamArn);
    }, 120_000);

    afterAll(() => client?.destroy());

    // The figures the README quotes.
    it('holds 100 acquisitions, 50 releases and 25 expiries among 375 records: 99 renewals, 100 standby writes, 1 other item', () => {
      const count = (detailType: string) => expected.filter((event) => event.detailType === detailType).length;
      expect([count(LEASE_ACQUIRED), count(LEASE_RELEASED), count(LEASE_EXPIRED)]).toEqual([ACQUISITIONS, 50, 25]);
      expect([renewals, standbyWrites]).toEqual([99, ACQUISITIONS]);
      expect(records).toHaveLength(expected.length + renewals + standbyWrites + 1);
      expect(records).toHaveLength(375);
    });

    it('turns the records into exactly the expected events, each from its own record', () => {
      const changes = leaseEventsOf(records);
      expect(changes.map((change) => change.event)).toEqual(expected);
      expect(new Set(changes.map((change) => change.sequenceNumber)).size).toBe(changes.length);
    });

    it('publishes 100 Lease Acquired in token order per name, the releases and expiries between them, once each and nothing else', async () => {
      const bus = recordingBus();
      const summary = await publishLeaseEvents(records, { sender: eventBridgePublisher({ client: bus.client }) });
      expect(summary).toMatchObject({ records: records.length, events: expected.length, published: expected.length, failed: 0, batchItemFailures: [] });
      expect(bus.delivered.filter((event) => event.detailType === LEASE_ACQUIRED)).toHaveLength(ACQUISITIONS);
      for (const name of NAMES) {
        expect(ofName(bus.delivered, name)).toEqual(ofName(expected, name));
        const tokens = ofName(bus.delivered, name).filter((event) => event.detailType === LEASE_ACQUIRED).map((event) => event.detail.fencingToken);
        expect(tokens).toEqual(tokens.map((_, i) => i + 1));
      }
      expect(new Set(bus.delivered.map(keyOf)).size).toBe(bus.delivered.length);
      // One event per PutEvents call, so a failed event is never followed by a published later one.
      expect(bus.calls.map((entries) => entries.length)).toEqual(expected.map(() => 1));
    });

    it('resends only an entry that failed, within the run: delivered once, nothing reported failed', async () => {
      const victim = keyOf(expected[7]!);
      let failures = 0;
      const bus = recordingBus((entry) => keyOfEntry(entry) === victim && failures++ < 2);
      const summary = await publishLeaseEvents(records, { sender: eventBridgePublisher({ client: bus.client, attempts: 3 }) });
      expect(summary).toMatchObject({ published: expected.length, failed: 0, batchItemFailures: [] });
      expect(bus.delivered).toEqual(expected);
      expect(bus.calls).toHaveLength(expected.length + 2);
    });

    it('reports the first event it could not publish as the batch item failure, publishes nothing after it, and the retry from there no duplicate', async () => {
      const failedAt = 41;
      const victim = keyOf(expected[failedAt]!);
      let outage = true;
      const bus = recordingBus((entry) => outage && keyOfEntry(entry) === victim);
      const sender = eventBridgePublisher({ client: bus.client, attempts: 3 });

      const first = await publishLeaseEvents(records, { sender });
      const failedRecord = leaseEventsOf(records)[failedAt]!.sequenceNumber;
      expect(first).toMatchObject({ published: failedAt, failed: 1, batchItemFailures: [{ itemIdentifier: failedRecord }] });
      expect(bus.delivered).toEqual(expected.slice(0, failedAt));

      // Lambda resends the batch from the failed record on.
      outage = false;
      const retried = records.slice(records.findIndex((record) => record.dynamodb?.SequenceNumber === failedRecord));
      const second = await publishLeaseEvents(retried, { sender });
      expect(second).toMatchObject({ published: expected.length - failedAt, failed: 0, batchItemFailures: [] });
      expect(bus.delivered).toEqual(expected);
      expect(new Set(bus.delivered.map(keyOf)).size).toBe(expected.length);
    });

    it('stops before the next event when told, leaving the rest to the retry from that record', async () => {
      const bus = recordingBus();
      let asked = 0;
      const summary = await publishLeaseEvents(records, { sender: eventBridgePublisher({ client: bus.client }), shouldStop: () => ++asked > 10 });
      expect(summary).toMatchObject({ published: 10, failed: 0, stoppedEarly: true });
      expect(summary.batchItemFailures).toEqual([{ itemIdentifier: leaseEventsOf(records)[10]!.sequenceNumber }]);
      expect(bus.delivered).toEqual(expected.slice(0, 10));
    });
  });
});

function keyOfEntry(entry: PutEventsRequestEntry): string {
  return keyOf({ detailType: entry.DetailType, detail: JSON.parse(entry.Detail ?? '{}') } as LeaseEvent);
}

describe('leaseEventsOf', () => {
  const image = (state: string, fencingToken: number, holderId = 'worker') => ({
    name: { S: 'report' },
    holderId: { S: holderId },
    fencingToken: { N: String(fencingToken) },
    state: { S: state },
    expiresAt: { N: '2000' },
    updatedAt: { N: '1500' },
    acquiredAt: { N: '1000' },
  });
  const record = (over: Partial<DynamoDBRecord> & { dynamodb?: DynamoDBRecord['dynamodb'] }): DynamoDBRecord => ({
    eventName: 'MODIFY',
    ...over,
    dynamodb: { SequenceNumber: '100', StreamViewType: 'NEW_AND_OLD_IMAGES', ...over.dynamodb },
  });

  it('announces nothing for a deletion, an item without a token, or a write that changes neither token nor held state', () => {
    expect(
      leaseEventsOf([
        record({ eventName: 'REMOVE', dynamodb: { OldImage: image('held', 3) } }),
        record({ eventName: 'INSERT', dynamodb: { NewImage: { name: { S: 'ledger' }, entries: { N: '4' } } } }),
        record({ dynamodb: { OldImage: image('released', 3), NewImage: image('released', 3) } }),
        record({ dynamodb: { OldImage: image('expired', 3), NewImage: image('expired', 3) } }),
      ]),
    ).toEqual([]);
  });

  it.each(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE'] as const)('refuses a %s stream, which cannot tell an acquisition from a renewal', (viewType) => {
    expect(() => leaseEventsOf([record({ dynamodb: { StreamViewType: viewType, NewImage: image('held', 3) } })])).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', argument: 'records' }),
    );
  });

  it('refuses a modification without its old image', () => {
    expect(() => leaseEventsOf([record({ dynamodb: { StreamViewType: undefined, NewImage: image('held', 3) } })])).toThrow(/NEW_AND_OLD_IMAGES/);
  });
});

describe('publishLeaseEvents', () => {
  const records: DynamoDBRecord[] = [1, 2].map((token) => ({
    eventName: token === 1 ? 'INSERT' : 'MODIFY',
    dynamodb: {
      SequenceNumber: String(token * 100),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(token > 1 && { OldImage: { name: { S: 'report' }, holderId: { S: 'a' }, fencingToken: { N: '1' }, state: { S: 'released' } } }),
      NewImage: { name: { S: 'report' }, holderId: { S: 'b' }, fencingToken: { N: String(token) }, state: { S: 'held' }, acquiredAt: { N: '1' } },
    },
  }));

  it('reports a sender that throws as the failure of that event, with what it threw, and sends nothing after it', async () => {
    const sent: LeaseEvent[] = [];
    const broken = new Error('socket hang up');
    const summary = await publishLeaseEvents(records, {
      sender: {
        async send(events) {
          if (sent.length > 0) throw broken;
          sent.push(...events);
          return { failed: [] };
        },
      },
    });
    expect(summary).toMatchObject({ published: 1, failed: 1, error: broken, batchItemFailures: [{ itemIdentifier: '200' }] });
    expect(sent).toHaveLength(1);
  });

  it('refuses an unknown option', async () => {
    await expect(publishLeaseEvents(records, { sender: { send: async () => ({ failed: [] }) }, attempts: 3 } as never)).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', argument: 'options.attempts' }),
    );
  });
});

describe("eventBridgePublisher's send", () => {
  const events = ['a', 'b', 'c'].map((name, i) => ({ detailType: LEASE_ACQUIRED, detail: { name, holderId: 'h', fencingToken: i + 1, acquiredAt: 0 } }) as LeaseEvent);

  it('resends only the entries EventBridge failed, and names those that never went through', async () => {
    // b fails once, c every time.
    let bFailures = 1;
    const bus = recordingBus((entry) => {
      const name = (JSON.parse(entry.Detail ?? '{}') as { name: string }).name;
      return name === 'b' ? bFailures-- > 0 : name === 'c';
    });
    const { failed } = await eventBridgePublisher({ client: bus.client, attempts: 3 }).send(events);
    expect(failed).toEqual([2]);
    expect(bus.calls.map((entries) => entries.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { name: string }).name))).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
      ['c'],
    ]);
    expect(bus.delivered.map((event) => event.detail.name)).toEqual(['a', 'b']);
  });
});

describe('readReaperConfig and readLeaseEventsConfig', () => {
  it("read whether the reaper publishes (unset: it does) and the publisher's bus", () => {
    expect(readReaperConfig({ LEASEHOLD_TABLE_NAME: 't' }).publishEvents).toBeUndefined();
    expect(readReaperConfig({ LEASEHOLD_TABLE_NAME: 't', LEASEHOLD_REAPER_PUBLISH_EVENTS: 'false' }).publishEvents).toBe(false);
    expect(readReaperConfig({ LEASEHOLD_TABLE_NAME: 't', LEASEHOLD_REAPER_PUBLISH_EVENTS: 'true' }).publishEvents).toBe(true);
    expect(() => readReaperConfig({ LEASEHOLD_TABLE_NAME: 't', LEASEHOLD_REAPER_PUBLISH_EVENTS: 'no' })).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', argument: 'LEASEHOLD_REAPER_PUBLISH_EVENTS' }),
    );
    expect(readLeaseEventsConfig({ LEASEHOLD_EVENT_BUS_NAME: 'default' })).toEqual({ eventBusName: undefined });
    expect(readLeaseEventsConfig({ LEASEHOLD_EVENT_BUS_NAME: 'leases' })).toEqual({ eventBusName: 'leases' });
  });
});
