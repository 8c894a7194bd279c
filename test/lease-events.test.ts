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
import {
  eventBridgePublisher,
  LEASE_ACQUIRED,
  LEASE_EVENT_SOURCE,
  LEASE_EXPIRED,
  LEASE_RELEASED,
  leaseEventsOf,
  publishLeaseEvents,
  reapExpiredLeases,
  type LeaseEvent,
} from '../lib/serverless/index.js';
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
  describe.skipIf(backend.name === 'dynalite')('100 changes of leadership', () => {
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
            await clock.advance(LEASE_MS + SKEW_MS + 1);
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
