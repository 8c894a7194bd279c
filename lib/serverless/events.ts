/**
 * Lease events and where they go. The reaper announces each lease it marks expired (a leader
 * died without releasing); EventBridge is the production destination.
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

/** The `source` of every event leasehold publishes, for EventBridge rules to match. */
export const LEASE_EVENT_SOURCE = 'leasehold';
/**
 * The `detail-type` of the event published for each lease the reaper marks expired; its `detail`
 * is a {@link LeaseExpiredDetail}.
 */
export const LEASE_EXPIRED = 'Lease Expired';

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

type PutEventsCommandClass = typeof import('@aws-sdk/client-eventbridge').PutEventsCommand;

/** PutEvents takes at most this many entries per call. */
const BATCH = 10;

const OPTIONS = ['client', 'eventBusName', 'attempts', 'clock'] as const;

/**
 * Publishes `Lease Expired` events to an EventBridge bus in batches of ten, resending only the
 * entries EventBridge reports as failed, up to `attempts` times in all. The EventBridge client
 * package is loaded at the first publish, not when `leasehold` is imported: it is an optional
 * peer, and an unbundled Lambda that never publishes should not pay for loading it.
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
}): LeaseEventPublisher {
  rejectUnknownKeys('options', options, OPTIONS);
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidArgumentError('attempts', 'must be a positive integer');
  const clock = options.clock ?? systemClock;
  const entry = (detail: LeaseExpiredDetail): PutEventsRequestEntry => ({
    Source: LEASE_EVENT_SOURCE,
    DetailType: LEASE_EXPIRED,
    Detail: JSON.stringify(detail),
    ...(options.eventBusName && { EventBusName: options.eventBusName }),
  });
  const sendBatch = async (PutEventsCommand: PutEventsCommandClass, entries: PutEventsRequestEntry[]): Promise<number> => {
    let pending = entries;
    for (let attempt = 1; pending.length > 0 && attempt <= attempts; attempt++) {
      try {
        const { Entries = [] } = await options.client.send(new PutEventsCommand({ Entries: pending }));
        // Results are positional: an entry with an ErrorCode failed and may be resent.
        pending = pending.filter((_, i) => Entries[i]?.ErrorCode !== undefined || Entries[i]?.EventId === undefined);
      } catch {
        // The whole call failed: resend all of it.
      }
      if (pending.length > 0 && attempt < attempts) await sleep(clock, backoffMs(attempt, clock));
    }
    return pending.length;
  };
  return {
    async publish(events) {
      const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
      const batches: PutEventsRequestEntry[][] = [];
      for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH).map(entry));
      const failed = await Promise.all(batches.map((batch) => sendBatch(PutEventsCommand, batch)));
      return { failed: failed.reduce((a, b) => a + b, 0) };
    },
  };
}
