/**
 * The conditional writes and reads of leases owned by sessions (see `Session`): taking them, free
 * or from a dead session, releasing them, and listing a group's sessions. Like `LeaseStore`, it
 * knows nothing of clocks or timers: callers pass in the times.
 *
 * A session-owned lease has no expiry of its own. Its item names the owner session and that
 * session's generation (the session lease's fencing token), and it is held exactly as long as
 * that session is. So taking it from a dead owner is one transaction: a check that the owner
 * session is past expiry by the contender rule (or released, or in a later generation), and the
 * lease update, conditional on the owner it was read with.
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LeaseStoreError } from './errors.js';
import { toLeaseRecord, type LeaseRecord, type SessionOwner } from './lease-record.js';
import { translateError } from './store-errors.js';
import { noDeadline, type Deadline } from './deadline.js';
import { when, withPlaceholders } from './expressions.js';
import { LeaseAttribute as A, SessionIndex } from './schema.js';

/** DynamoDB's limit of items in one `TransactWriteItems`. */
export const MAX_TRANSACTION_ITEMS = 100;

/** DynamoDB's limit of keys in one `BatchGetItem`. */
const MAX_BATCH_GET_KEYS = 100;

/** Conditions of session-owned leases, named so each write reads as a sentence. */
const owned = {
  /** Never taken, released, or a plain (not session-owned) lease past its expiry by the contender rule. */
  free: `${when.absent} OR ${when.released} OR (attribute_not_exists(#ownerSession) AND ${when.wallExpired})`,
  /** Still held through the owner it was read with. */
  heldBy: '#state = :held AND #ownerSession = :fromSession AND #sessionGeneration = :fromGeneration',
  /** The contender rule, for a session: gone, released, in another generation, or past its expiry and the skew allowance. */
  sessionDead: `${when.absent} OR ${when.released} OR #fencingToken <> :generation OR ${when.wallExpired}`,
} as const;

/** One lease to take: free, or from the (dead) session `from` that owns it. */
export interface TakeItem {
  readonly name: string;
  readonly from: SessionOwner | undefined;
}

/** A take of one or more leases for one session. */
export interface TakeRequest {
  /** The taking session, and the holder id its leases carry. */
  readonly owner: SessionOwner & { readonly holderId: string };
  readonly items: readonly TakeItem[];
  /** Stored as each taken lease's revision: how a resend, or a reconciling read, recognises this take. */
  readonly nonce: string;
  readonly wallNow: number;
  /** A session (or a plain lease) whose `expiresAt` is below this is past expiry: wall now − skew allowance. */
  readonly staleBefore: number;
  /** Stored with each taken lease; none by default. */
  readonly data?: Record<string, unknown>;
}

/** How a take ended: landed, or refused with what stopped it. */
export type TakeOutcome =
  | { readonly landed: true; readonly record: LeaseRecord | undefined }
  | {
      readonly landed: false;
      /** Leases whose condition failed, with the item that stopped it (`undefined` where the backend returns none). */
      readonly refused: ReadonlyMap<string, LeaseRecord | undefined>;
      /** Owner sessions that are not dead after all. */
      readonly aliveOwners: ReadonlySet<string>;
    };

/** A group's session as the session index shows it (eventually consistent). */
export interface SessionRecord extends LeaseRecord {
  /** The session's group. */
  readonly group: string;
}

/** Writes and reads of session-owned leases in one table. */
export class OwnedLeaseStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * Takes every lease of the request, or none. One free lease is one conditional `UpdateItem`
   * that returns the new item; anything else is one `TransactWriteItems` (at most 100 items, one
   * check per dead owner session included) with the nonce as its idempotency token, so a resend
   * of a take that landed lands nothing new, and the caller reads the taken items back for their
   * tokens.
   */
  async take(request: TakeRequest, abortSignal?: AbortSignal): Promise<TakeOutcome> {
    const [only] = request.items;
    if (request.items.length === 1 && only && only.from === undefined) return this.takeOne(request, only, abortSignal);
    const owners = [...new Map(request.items.flatMap((item) => (item.from ? [[item.from.session, item.from] as const] : []))).values()];
    const transactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      ...owners.map((owner) => ({
        ConditionCheck: {
          TableName: this.tableName,
          Key: { [A.name]: owner.session },
          ...withPlaceholders({ ConditionExpression: owned.sessionDead }, { ':generation': owner.generation, ':staleBefore': request.staleBefore }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      })),
      ...request.items.map((item) => ({
        Update: {
          TableName: this.tableName,
          Key: { [A.name]: item.name },
          ...this.takeExpressions(request, item),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      })),
    ];
    if (transactItems.length > MAX_TRANSACTION_ITEMS) {
      throw new Error(`leasehold: a take of ${transactItems.length} items exceeds one transaction (${MAX_TRANSACTION_ITEMS})`);
    }
    try {
      await this.documents.send(new TransactWriteCommand({ TransactItems: transactItems, ClientRequestToken: request.nonce }), { abortSignal });
      return { landed: true, record: undefined };
    } catch (error) {
      const reasons = (error as { name?: string; CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] }).CancellationReasons;
      if ((error as { name?: string }).name !== 'TransactionCanceledException' || !reasons?.some((reason) => reason.Code === 'ConditionalCheckFailed')) {
        throw translateError(error, this.tableName, only?.name);
      }
      const refused = new Map<string, LeaseRecord | undefined>();
      const aliveOwners = new Set<string>();
      reasons.forEach((reason, index) => {
        if (reason.Code !== 'ConditionalCheckFailed') return;
        if (index < owners.length) aliveOwners.add(owners[index]!.session);
        else refused.set(request.items[index - owners.length]!.name, reason.Item ? toLeaseRecord(unmarshall(reason.Item as never)) : undefined);
      });
      return { landed: false, refused, aliveOwners };
    }
  }

  /**
   * Marks a session-owned lease released, keeping its token, if it is still held by `holderId`
   * at `fencingToken`. Asks for nothing back: whether it landed or found the lease gone, there
   * is nothing left to do.
   */
  async release(request: { name: string; holderId: string; fencingToken: number; nonce: string; wallNow: number }, abortSignal?: AbortSignal): Promise<void> {
    const input = withPlaceholders(
      {
        UpdateExpression: 'SET #state = :released, #revision = :nonce, #updatedAt = :wallNow REMOVE #ownerSession, #sessionGeneration',
        ConditionExpression: when.heldByMe,
      },
      { ':holderId': request.holderId, ':fencingToken': request.fencingToken, ':nonce': request.nonce, ':wallNow': request.wallNow },
    );
    try {
      await this.documents.send(new UpdateCommand({ TableName: this.tableName, Key: { [A.name]: request.name }, ...input }), { abortSignal });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw translateError(error, this.tableName, request.name);
    }
  }

  /** The items of `names` that exist, by strongly consistent `BatchGetItem`s of up to 100 keys. */
  async readMany(names: readonly string[], deadline: Deadline = noDeadline): Promise<Map<string, LeaseRecord>> {
    const found = new Map<string, LeaseRecord>();
    for (let start = 0; start < names.length; start += MAX_BATCH_GET_KEYS) {
      let keys: Record<string, unknown>[] | undefined = names.slice(start, start + MAX_BATCH_GET_KEYS).map((name) => ({ [A.name]: name }));
      while (keys && keys.length > 0) {
        const command = new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } });
        let answer: BatchGetCommandOutput;
        try {
          answer = await deadline((abortSignal) => this.documents.send(command, { abortSignal }));
        } catch (error) {
          throw translateError(error, this.tableName, undefined);
        }
        for (const item of answer.Responses?.[this.tableName] ?? []) found.set(String(item[A.name]), toLeaseRecord(item));
        // Keys DynamoDB left unprocessed (throttled or over the response size) are asked again.
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  /**
   * Every session of `group` the session index shows: held ones, and ones that lapsed without
   * being released or reaped. Eventually consistent, as every index read: a session that just
   * joined may be missing for a moment. Callers decide by it only whom to ask and what to try;
   * every write re-checks.
   */
  async sessions(group: string, deadline: Deadline = noDeadline): Promise<SessionRecord[]> {
    const sessions: SessionRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      let page;
      try {
        const query = new QueryCommand({
          TableName: this.tableName,
          IndexName: SessionIndex.name,
          ...withPlaceholders({ KeyConditionExpression: '#sessionGroup = :group' }, { ':group': group }),
          ExclusiveStartKey: startKey,
        });
        page = await deadline((abortSignal) => this.documents.send(query, { abortSignal }));
      } catch (error) {
        throw translateError(error, this.tableName, undefined);
      }
      for (const item of page.Items ?? []) sessions.push({ ...toLeaseRecord(item), group });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return sessions;
  }

  private async takeOne(request: TakeRequest, item: TakeItem, abortSignal: AbortSignal | undefined): Promise<TakeOutcome> {
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.name]: item.name },
          ...this.takeExpressions(request, item),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal },
      );
      if (!Attributes) throw new LeaseStoreError(`UpdateItem on "${item.name}" returned no attributes`, item.name, { outcomeUnknown: false });
      return { landed: true, record: toLeaseRecord(Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw translateError(error, this.tableName, item.name);
      // Backends without ReturnValuesOnConditionCheckFailure (dynalite) return no item: the
      // caller reads it when it needs to know who holds it.
      const current = error.Item ? toLeaseRecord(unmarshall(error.Item)) : undefined;
      return { landed: false, refused: new Map([[item.name, current]]), aliveOwners: new Set() };
    }
  }

  private takeExpressions(request: TakeRequest, item: TakeItem) {
    const set = [
      '#holderId = :holderId',
      '#fencingToken = if_not_exists(#fencingToken, :zero) + :one',
      '#revision = :nonce',
      '#state = :held',
      '#acquiredAt = :wallNow',
      '#updatedAt = :wallNow',
      '#ownerSession = :session',
      '#sessionGeneration = :generation',
    ];
    if (request.data !== undefined) set.push('#data = :data');
    // Its session's expiry is the lease's: one of its own would let the reaper and the plain
    // contender rule judge it, and a plain holder's payload is not the new owner's.
    const remove = ['#expiresAt', '#leaseMs', '#reapShard', '#reapAfter', ...(request.data === undefined ? ['#data'] : [])];
    return withPlaceholders(
      {
        UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
        ConditionExpression: item.from === undefined ? owned.free : owned.heldBy,
      },
      {
        ':holderId': request.owner.holderId,
        ':zero': 0,
        ':one': 1,
        ':nonce': request.nonce,
        ':wallNow': request.wallNow,
        ':session': request.owner.session,
        ':generation': request.owner.generation,
        ':data': request.data,
        ':staleBefore': request.staleBefore,
        ':fromSession': item.from?.session,
        ':fromGeneration': item.from?.generation,
      },
    );
  }
}
