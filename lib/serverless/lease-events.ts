/**
 * Every change of leadership as an event, from the lease table's DynamoDB stream: the engine of
 * the `LeaseEvents` function. Each lease write leaves one stream record with the item before and
 * after it; the fencing token and the state tell the writes apart:
 *
 *   token grew                      -> Lease Acquired  (acquire, takeover of a lapsed lease)
 *   same token, held -> released    -> Lease Released  (release, revoke)
 *   same token, held -> expired     -> Lease Expired   (the reaper marked it)
 *   anything else                   -> nothing         (renewals, standby slots, other items)
 *
 * No SDK and no Lambda runtime here: the handler in `lambda/` drives it.
 *
 * @module
 */
import type { AttributeValue, DynamoDBBatchItemFailure, DynamoDBRecord } from 'aws-lambda';
import { InvalidArgumentError } from '../core/errors.js';
import { LeaseAttribute as A } from '../core/schema.js';
import { rejectUnknownKeys } from '../core/validate.js';
import { LEASE_ACQUIRED, LEASE_EXPIRED, LEASE_RELEASED, type LeaseEvent, type LeaseEventSender } from './events.js';

/** A lease event and the stream record it comes from. */
export interface LeaseChange {
  /** The record's sequence number: what a partial batch failure names, so Lambda resends from it. */
  readonly sequenceNumber: string;
  /** The event the record announces. */
  readonly event: LeaseEvent;
}

/** Options of {@link publishLeaseEvents}. */
export interface PublishLeaseEventsOptions {
  /** Where the events go, e.g. {@link eventBridgePublisher}. */
  readonly sender: LeaseEventSender;
  /**
   * Asked before each event: true stops there, and the event's record is reported as the batch
   * item failure, so Lambda resends from it. Stop while a send and its resends still fit in the
   * invocation: a function killed after an event was published would publish it again.
   */
  readonly shouldStop?: () => boolean;
}

/** What one call of {@link publishLeaseEvents} did. */
export interface LeaseEventsSummary {
  /** Stream records given. */
  readonly records: number;
  /** Events those records hold (renewals, standby writes and other items hold none). */
  readonly events: number;
  /** Events published, in record order. */
  readonly published: number;
  /** Events that could not be published after the sender's resends: 0 or 1, since publishing stops at the first. */
  readonly failed: number;
  /** Whether `shouldStop` ended the call before every event was sent. */
  readonly stoppedEarly: boolean;
  /** What the sender threw, when it threw rather than report the failure. */
  readonly error?: unknown;
  /**
   * Lambda's partial batch response (`ReportBatchItemFailures`): the record of the first event
   * not published, from which Lambda resends the batch; empty when every event was published.
   */
  readonly batchItemFailures: DynamoDBBatchItemFailure[];
}

type Image = Record<string, AttributeValue>;

const OPTIONS = ['sender', 'shouldStop'] as const;

/**
 * The events `records` (from a lease table's stream, with new and old images) announce, in record
 * order. Pure. Throws {@link InvalidArgumentError} for a record without the images it needs: a
 * stream of another view type cannot tell acquisitions from renewals, and must not pass silently.
 */
export function leaseEventsOf(records: readonly DynamoDBRecord[]): LeaseChange[] {
  return records.flatMap((record) => {
    const event = eventOf(record);
    if (event === undefined) return [];
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (sequenceNumber === undefined) throw new InvalidArgumentError('records', 'a stream record has no SequenceNumber');
    return [{ sequenceNumber, event }];
  });
}

/**
 * Publishes the events of `records` one at a time, in record order, and stops at the first that
 * cannot be published (after the sender's own resends) or when `shouldStop` says so. Nothing after
 * an unpublished event is sent, so Lambda's resend from its record (the batch item failure)
 * publishes each event once, in order. One event per PutEvents call is what keeps that promise:
 * the entries of one call succeed or fail independently, so a later entry could be published
 * before an earlier one failed for good.
 */
export async function publishLeaseEvents(records: readonly DynamoDBRecord[], options: PublishLeaseEventsOptions): Promise<LeaseEventsSummary> {
  rejectUnknownKeys('options', options, OPTIONS);
  const changes = leaseEventsOf(records);
  const shouldStop = options.shouldStop ?? (() => false);
  const summary = { records: records.length, events: changes.length, published: 0, failed: 0, stoppedEarly: false };
  for (const { sequenceNumber, event } of changes) {
    const unpublished = [{ itemIdentifier: sequenceNumber }];
    if (shouldStop()) return { ...summary, stoppedEarly: true, batchItemFailures: unpublished };
    try {
      const { failed } = await options.sender.send([event]);
      if (failed.length > 0) return { ...summary, failed: 1, batchItemFailures: unpublished };
    } catch (error) {
      return { ...summary, failed: 1, error, batchItemFailures: unpublished };
    }
    summary.published++;
  }
  return { ...summary, batchItemFailures: [] };
}

function eventOf(record: DynamoDBRecord): LeaseEvent | undefined {
  // leasehold never deletes a lease item: a deletion (by an operator, or TTL) is nobody's leadership.
  if (record.eventName === 'REMOVE') return undefined;
  const stream = record.dynamodb;
  if (stream?.StreamViewType !== undefined && stream.StreamViewType !== 'NEW_AND_OLD_IMAGES') {
    throw new InvalidArgumentError('records', `the stream must carry new and old images (NEW_AND_OLD_IMAGES), not ${stream.StreamViewType}`);
  }
  const after = stream?.NewImage;
  const before = stream?.OldImage;
  if (after === undefined || (record.eventName === 'MODIFY' && before === undefined)) {
    throw new InvalidArgumentError('records', 'a stream record lacks its new or old image: the stream must be NEW_AND_OLD_IMAGES');
  }
  const fencingToken = numberOf(after, A.fencingToken);
  // An item without a token is not a lease (a fenced resource may share the table).
  if (fencingToken === undefined) return undefined;
  const name = stringOf(after, A.name) ?? '';
  const holderId = stringOf(after, A.holderId) ?? '';
  const previousToken = before === undefined ? undefined : numberOf(before, A.fencingToken);
  if (before === undefined || previousToken === undefined || fencingToken > previousToken) {
    const previousHolderId = before && stringOf(before, A.holderId);
    const acquiredAt = numberOf(after, A.acquiredAt) ?? 0;
    return { detailType: LEASE_ACQUIRED, detail: { name, holderId, fencingToken, acquiredAt, ...(previousHolderId !== undefined && { previousHolderId }) } };
  }
  if (fencingToken !== previousToken || stringOf(before, A.state) !== 'held') return undefined;
  switch (stringOf(after, A.state)) {
    case 'released':
      return { detailType: LEASE_RELEASED, detail: { name, holderId, fencingToken, releasedAt: numberOf(after, A.updatedAt) ?? 0 } };
    case 'expired':
      return { detailType: LEASE_EXPIRED, detail: { name, holderId, fencingToken, expiredAt: numberOf(after, A.expiresAt) ?? 0 } };
    default:
      return undefined;
  }
}

function stringOf(image: Image, attribute: string): string | undefined {
  return image[attribute]?.S;
}

function numberOf(image: Image, attribute: string): number | undefined {
  const value = image[attribute]?.N;
  return value === undefined ? undefined : Number(value);
}
