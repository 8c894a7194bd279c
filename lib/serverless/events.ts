/**
 * Lease events and where they go. The reaper announces each lease it marks expired (a leader
 * died without releasing); the stream publisher (`lease-events.ts`) announces every change of
 * leadership. EventBridge is the production destination.
 *
 * @module
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { backoffMs } from '../core/backoff.js';
import { sleep, systemClock, type Clock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import { rejectUnknownKeys } from '../core/validate.js';

/** `detail` of a `Lease Expired` event. */
export interface LeaseExpiredDetail {
  /** The lease name. */
  readonly name: string;
  /** The holder that let the lease lapse. */
  readonly holderId: string;
  /** The token of the holding that lapsed; the next acquisition gets a larger one. */
  readonly fencingToken: number;
  /** Wall-clock epoch ms its holder had written as the expiry. */
  readonly expiredAt: number;
}

/** `detail` of a `Lease Acquired` event. */
export interface LeaseAcquiredDetail {
  /** The lease name. */
  readonly name: string;
  /** The new holder. */
  readonly holderId: string;
  /** The token of this acquisition: one more than the previous one of the name. */
  readonly fencingToken: number;
  /** Wall-clock epoch ms of the acquisition, by the new holder's clock. */
  readonly acquiredAt: number;
  /**
   * The holder before this one (whether it released, was reaped, or lapsed and was taken over);
   * absent on the first acquisition of the name.
   */
  readonly previousHolderId?: string;
}

/** `detail` of a `Lease Released` event: a holder gave up its lease, or an operator revoked it. */
export interface LeaseReleasedDetail {
  /** The lease name. */
  readonly name: string;
  /** The holder that released it (or whose lease was revoked). */
  readonly holderId: string;
  /** The token of the holding that ended; the next acquisition gets a larger one. */
  readonly fencingToken: number;
  /** Wall-clock epoch ms of the release, by the releasing process's clock. */
  readonly releasedAt: number;
}

/** The `source` of every event leasehold publishes, for EventBridge rules to match. */
export const LEASE_EVENT_SOURCE = 'leasehold';
/**
 * The `detail-type` of the event published for each lease the reaper marks expired; its `detail`
 * is a {@link LeaseExpiredDetail}.
 */
export const LEASE_EXPIRED = 'Lease Expired';
/** The `detail-type` of the event published for each acquisition; its `detail` is a {@link LeaseAcquiredDetail}. */
export const LEASE_ACQUIRED = 'Lease Acquired';
/** The `detail-type` of the event published for each release or revoke; its `detail` is a {@link LeaseReleasedDetail}. */
export const LEASE_RELEASED = 'Lease Released';

/** One lease event: its `detail-type` and the `detail` that goes with it. */
export type LeaseEvent =
  | {
      /** The event's `detail-type`. */
      readonly detailType: typeof LEASE_ACQUIRED;
      /** The event's `detail`. */
      readonly detail: LeaseAcquiredDetail;
    }
  | {
      /** The event's `detail-type`. */
      readonly detailType: typeof LEASE_RELEASED;
      /** The event's `detail`. */
      readonly detail: LeaseReleasedDetail;
    }
  | {
      /** The event's `detail-type`. */
      readonly detailType: typeof LEASE_EXPIRED;
      /** The event's `detail`. */
      readonly detail: LeaseExpiredDetail;
    };

/** Sends lease events somewhere. Resolves with how many could not be delivered. */
export interface LeaseEventPublisher {
  /**
   * Sends one `Lease Expired` event per entry. Count failures rather than throw: a rejection fails
   * the reaper run, and leases it has already marked are not announced again.
   */
  publish(events: readonly LeaseExpiredDetail[]): Promise<{
    /** How many of `events` were not delivered; the reaper reports them as `eventsFailed`. */
    failed: number;
  }>;
}

/** Sends lease events of every type, saying which of them were not delivered. */
export interface LeaseEventSender {
  /**
   * Sends `events` in PutEvents calls of up to ten, resending only the entries EventBridge
   * reports as failed. Entries of one call are delivered in no particular order: send one event
   * at a time where order matters. Counts failures rather than throw.
   */
  send(events: readonly LeaseEvent[]): Promise<{
    /** Positions in `events` of those not delivered, ascending. */
    failed: number[];
  }>;
}

type PutEventsCommandClass = typeof import('@aws-sdk/client-eventbridge').PutEventsCommand;

/** PutEvents takes at most this many entries per call. */
const BATCH = 10;

const OPTIONS = ['client', 'eventBusName', 'attempts', 'clock'] as const;

/**
 * Publishes lease events to an EventBridge bus in batches of ten, resending only the entries
 * EventBridge reports as failed, up to `attempts` times in all: `publish` for the reaper's
 * `Lease Expired` events, `send` for events of every type (the stream publisher's). The
 * EventBridge client package is loaded at the first publish, not when `leasehold` is imported: it
 * is an optional peer, and an unbundled Lambda that never publishes should not pay for loading it.
 */
export function eventBridgePublisher(options: {
  /** The EventBridge client to publish with (its region, endpoint and credentials). */
  client: EventBridgeClient;
  /** @default the account's default bus */
  eventBusName?: string;
  /** @default 3 */
  attempts?: number;
  /** @default systemClock */
  clock?: Clock;
}): LeaseEventPublisher & LeaseEventSender {
  rejectUnknownKeys('options', options, OPTIONS);
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidArgumentError('attempts', 'must be a positive integer');
  const clock = options.clock ?? systemClock;
  const entry = (event: LeaseEvent): PutEventsRequestEntry => ({
    Source: LEASE_EVENT_SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    ...(options.eventBusName && { EventBusName: options.eventBusName }),
  });
  /** Sends one call's entries; resolves with the positions of those never delivered. */
  const sendBatch = async (PutEventsCommand: PutEventsCommandClass, entries: PutEventsRequestEntry[]): Promise<number[]> => {
    let pending = entries.map((_, position) => position);
    for (let attempt = 1; pending.length > 0 && attempt <= attempts; attempt++) {
      try {
        const { Entries = [] } = await options.client.send(new PutEventsCommand({ Entries: pending.map((position) => entries[position]!) }));
        // Results are positional: an entry with an ErrorCode failed and may be resent.
        pending = pending.filter((_, i) => Entries[i]?.ErrorCode !== undefined || Entries[i]?.EventId === undefined);
      } catch {
        // The whole call failed: resend all of it.
      }
      if (pending.length > 0 && attempt < attempts) await sleep(clock, backoffMs(attempt, clock));
    }
    return pending;
  };
  const send = async (events: readonly LeaseEvent[]): Promise<{ failed: number[] }> => {
    const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const batches: Promise<number[]>[] = [];
    for (let start = 0; start < events.length; start += BATCH) {
      const entries = events.slice(start, start + BATCH).map(entry);
      batches.push(sendBatch(PutEventsCommand, entries).then((failed) => failed.map((position) => start + position)));
    }
    return { failed: (await Promise.all(batches)).flat() };
  };
  return {
    send,
    async publish(details) {
      const { failed } = await send(details.map((detail) => ({ detailType: LEASE_EXPIRED, detail })));
      return { failed: failed.length };
    },
  };
}
