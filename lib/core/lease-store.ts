/**
 * The lease item's conditional writes and reads: every DynamoDB call the library makes. A failed
 * condition becomes data (the current item); every SDK error goes through `translateError`.
 * Knows nothing of clocks or timers: callers pass in the times.
 *
 * Requests are built as DynamoDB `AttributeValue`s and sent with the low-level client: the
 * document client's conversion of every request and answer was a measured share of a lease's
 * client CPU (which Lambda bills). Only a fenced write goes through the document client, since
 * the items it carries are the caller's, in native values.
 *
 * @module
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { FencedWriteRejectedError, LeaseStoreError } from './errors.js';
import { toLeaseRecord, type IndexedLease, type LeaseRecord, type WriteOutcome } from './lease-record.js';
import { translateError } from './store-errors.js';
import { noDeadline, type Deadline } from './deadline.js';
import { when, withAttributeValues, withPlaceholders, type ResolvedExpressions } from './expressions.js';
import { LeaseAttribute as A, ReaperIndex, reapAfterOf, reapShardOf, standbySlotAttribute } from './schema.js';

export interface AcquireRequest {
  readonly name: string;
  readonly holderId: string;
  /** Stored as the revision: lets a retry recognise its own earlier write. */
  readonly nonce: string;
  readonly leaseMs: number;
  readonly expiresAt: number;
  readonly wallNow: number;
  /** A held or reaped lease whose `expiresAt` is below this may be taken (wall now - skew allowance). */
  readonly staleBefore: number;
  /** Take the lease if its revision is still this one (the observed-unchanged path). */
  readonly unchangedRevision: string | undefined;
  readonly data: Record<string, unknown> | undefined;
  /** For a session's own lease: its group, which puts it in the session index while it is held. */
  readonly sessionGroup?: string;
}

export interface RenewRequest {
  readonly name: string;
  readonly holderId: string;
  readonly fencingToken: number;
  readonly nonce: string;
  readonly leaseMs: number;
  readonly expiresAt: number;
  readonly wallNow: number;
  readonly data: Record<string, unknown> | undefined;
}

export interface ReleaseRequest {
  readonly name: string;
  /** The releasing holder; omitted when an operator revokes whoever holds the token. */
  readonly holderId?: string;
  readonly fencingToken: number;
  readonly nonce: string;
  readonly wallNow: number;
}

export interface ReleaseDoneRequest extends ReleaseRequest {
  readonly holderId: string;
  /** The whole map to store: the runs already done, pruned, with this one (see `keptDoneRuns`). */
  readonly doneRuns: Readonly<Record<string, { readonly fencingToken: number; readonly doneAt: number }>>;
}

export interface MarkExpiredRequest {
  readonly name: string;
  readonly fencingToken: number;
  /** Marked only if its `expiresAt` is still below this (wall now - skew allowance): a renewal since the read wins. */
  readonly staleBefore: number;
  readonly nonce: string;
  readonly wallNow: number;
}

/** What an update sends besides its key: expressions, and the names and values they use. */
type UpdateExpressions = ResolvedExpressions<{ UpdateExpression: string; ConditionExpression: string }> & {
  readonly ExpressionAttributeValues: Record<string, AttributeValue>;
};

/** Conditional writes and consistent reads of lease items in one table. */
export class LeaseStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /**
   * Takes the lease if it is absent, released, past its expiry by the wall clock and the skew
   * allowance (held or reaped alike), or unchanged since the caller first observed it; the fencing
   * token grows by one either way.
   */
  acquire(request: AcquireRequest, abortSignal?: AbortSignal): Promise<WriteOutcome> {
    const takeable: string[] = [when.absent, when.released, when.wallExpired];
    if (request.unchangedRevision !== undefined) takeable.push(when.unchangedSinceObserved);
    const set = [
      '#holderId = :holderId',
      '#fencingToken = if_not_exists(#fencingToken, :zero) + :one',
      '#leaseMs = :leaseMs',
      '#expiresAt = :expiresAt',
      '#revision = :nonce',
      '#state = :held',
      '#acquiredAt = :wallNow',
      '#updatedAt = :wallNow',
      '#reapShard = :reapShard',
      '#reapAfter = :reapAfter',
    ];
    if (request.data !== undefined) set.push('#data = :data');
    if (request.sessionGroup !== undefined) set.push('#sessionGroup = :sessionGroup');
    const expressions = {
      // A new holder never inherits the previous holder's payload.
      UpdateExpression: `SET ${set.join(', ')}${request.data === undefined ? ' REMOVE #data' : ''}`,
      ConditionExpression: takeable.join(' OR '),
    };
    return this.update(
      request.name,
      withAttributeValues(expressions, {
        ':holderId': request.holderId,
        ':zero': 0,
        ':one': 1,
        ':leaseMs': request.leaseMs,
        ':expiresAt': request.expiresAt,
        ':nonce': request.nonce,
        ':wallNow': request.wallNow,
        ':reapShard': reapShardOf(request.name),
        ':reapAfter': reapAfterOf(request.expiresAt),
        ':staleBefore': request.staleBefore,
        ':unchangedRevision': request.unchangedRevision,
        ':data': request.data,
        ':sessionGroup': request.sessionGroup,
      }),
      abortSignal,
    );
  }

  /** Extends the caller's own lease; never one with another holder or token. */
  renew(request: RenewRequest, abortSignal?: AbortSignal): Promise<WriteOutcome> {
    // Setting `reapAfter` to the value it has writes nothing to the index: see `ReaperIndex`.
    const set = ['#leaseMs = :leaseMs', '#expiresAt = :expiresAt', '#reapAfter = :reapAfter', '#revision = :nonce', '#updatedAt = :wallNow'];
    if (request.data !== undefined) set.push('#data = :data');
    return this.update(
      request.name,
      withAttributeValues(
        { UpdateExpression: `SET ${set.join(', ')}`, ConditionExpression: `${when.heldByMe} AND ${when.extends}` },
        {
          ':holderId': request.holderId,
          ':fencingToken': request.fencingToken,
          ':leaseMs': request.leaseMs,
          ':expiresAt': request.expiresAt,
          ':reapAfter': reapAfterOf(request.expiresAt),
          ':nonce': request.nonce,
          ':wallNow': request.wallNow,
          ':data': request.data,
        },
      ),
      abortSignal,
    );
  }

  /**
   * Marks a lease released, keeping its token for the next holder to build on. Conditional on the
   * token (and, for a holder's own release, on its holder id; an operator's revoke omits it), so
   * a newer holder is never touched. A holder's own release asks for nothing back: whether it
   * landed or found the lease already gone, there is nothing left to do, so the answer is smaller
   * and no reconciling read is made.
   */
  release(request: ReleaseRequest & { holderId: string }, abortSignal?: AbortSignal): Promise<undefined>;
  release(request: ReleaseRequest & { holderId?: undefined }, abortSignal?: AbortSignal): Promise<WriteOutcome>;
  async release(request: ReleaseRequest, abortSignal?: AbortSignal): Promise<WriteOutcome | undefined> {
    const mine = request.holderId !== undefined;
    const input = withAttributeValues(
      {
        UpdateExpression: 'SET #state = :released, #revision = :nonce, #updatedAt = :wallNow REMOVE #reapShard, #reapAfter, #sessionGroup, #ownerSession, #sessionGeneration',
        // An operator's revoke leaves a session's lease alone: see `LeaseClient.revoke`.
        ConditionExpression: mine ? when.heldByMe : `${when.heldAtToken} AND attribute_not_exists(#ownerSession)`,
      },
      { ':fencingToken': request.fencingToken, ':nonce': request.nonce, ':wallNow': request.wallNow, ':holderId': request.holderId },
    );
    if (!mine) return this.update(request.name, input, abortSignal);
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: keyOf(request.name), ...input }), { abortSignal });
    } catch (error) {
      // Already released, taken over or reaped: nothing to undo.
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw translateError(error, this.tableName, request.name);
    }
    return undefined;
  }

  /**
   * A holder's release that also records its run done, in the same conditional write (so the run
   * is recorded only while its lease is still held at its token). Unlike a plain release it asks
   * for the item back either way: the caller must learn whether the record landed, and recognise
   * it after a lost answer. The whole map is written: the holder read it at its acquisition and
   * nobody else writes it while the lease is held.
   */
  releaseDone(request: ReleaseDoneRequest, abortSignal?: AbortSignal): Promise<WriteOutcome> {
    return this.update(
      request.name,
      withAttributeValues(
        {
          UpdateExpression: 'SET #state = :released, #revision = :nonce, #updatedAt = :wallNow, #doneRuns = :doneRuns REMOVE #reapShard, #reapAfter, #sessionGroup',
          ConditionExpression: when.heldByMe,
        },
        {
          ':holderId': request.holderId,
          ':fencingToken': request.fencingToken,
          ':nonce': request.nonce,
          ':wallNow': request.wallNow,
          ':doneRuns': request.doneRuns,
        },
      ),
      abortSignal,
    );
  }

  /**
   * Marks a lease expired if it is still held at the token the reaper read and still past its
   * expiry by the reaper's clock: a renewal since the read wins over this.
   */
  markExpired(request: MarkExpiredRequest, abortSignal?: AbortSignal): Promise<WriteOutcome> {
    return this.update(
      request.name,
      withAttributeValues(
        {
          UpdateExpression: 'SET #state = :expired, #revision = :nonce, #updatedAt = :wallNow REMOVE #reapShard, #reapAfter, #sessionGroup',
          ConditionExpression: when.heldAtTokenAndExpired,
        },
        { ':fencingToken': request.fencingToken, ':staleBefore': request.staleBefore, ':nonce': request.nonce, ':wallNow': request.wallNow },
      ),
      abortSignal,
    );
  }

  /**
   * Sends `items` in one transaction together with a check that the lease is still held by
   * `holder` at its token, so they land only while it holds the lease. Throws
   * {@link FencedWriteRejectedError} (nothing written) when it does not.
   */
  async writeFenced(
    holder: { name: string; holderId: string; fencingToken: number },
    items: NonNullable<TransactWriteCommandInput['TransactItems']>,
    abortSignal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { [A.name]: holder.name },
                ...withPlaceholders({ ConditionExpression: when.heldByMe }, { ':holderId': holder.holderId, ':fencingToken': holder.fencingToken }),
              },
            },
            ...items,
          ],
        }),
        { abortSignal },
      );
    } catch (error) {
      const reasons = (error as { name?: string; CancellationReasons?: { Code?: string }[] }).CancellationReasons;
      if ((error as { name?: string }).name === 'TransactionCanceledException' && reasons?.[0]?.Code === 'ConditionalCheckFailed') {
        throw new FencedWriteRejectedError(holder.name, holder.fencingToken, { cause: error });
      }
      throw translateError(error, this.tableName, holder.name);
    }
  }

  /**
   * Held leases of one reaper-index shard whose expiry minute (`reapAfter`) ended before `before`,
   * oldest first, a page at a time: each expired before `before`, some up to a minute earlier than
   * found. The index holds only held leases, so the cost follows the expired ones, not the table.
   * Index reads are eventually consistent: callers must write conditionally.
   */
  async *expiredInShard(shard: number, before: number, pageSize: number, deadline: Deadline = noDeadline): AsyncGenerator<IndexedLease[]> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        const query = new QueryCommand({
          TableName: this.tableName,
          IndexName: ReaperIndex.name,
          ...withAttributeValues({ KeyConditionExpression: '#reapShard = :shard AND #reapAfter < :before' }, { ':shard': shard, ':before': before }),
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        });
        page = await deadline((abortSignal) => this.client.send(query, { abortSignal }));
      } catch (error) {
        throw translateError(error, this.tableName, undefined);
      }
      yield (page.Items ?? []).map((stored) => unmarshall(stored)).map((item) => ({
        name: String(item[A.name]),
        holderId: String(item[A.holderId]),
        fencingToken: Number(item[A.fencingToken]),
      }));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** Every lease item, a page at a time, by strongly consistent Scan (for operators, not hot paths). */
  async *scan(pageSize = 100, deadline: Deadline = noDeadline): AsyncGenerator<LeaseRecord[]> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await deadline((abortSignal) =>
          this.client.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true, Limit: pageSize, ExclusiveStartKey: startKey }), {
            abortSignal,
          }),
        );
      } catch (error) {
        throw translateError(error, this.tableName, undefined);
      }
      // Other items (a fenced resource sharing the table) lack a fencing token: not leases.
      yield (page.Items ?? [])
        .filter((item) => item[A.fencingToken] !== undefined)
        .map((item) => toLeaseRecord(unmarshall(item)));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /**
   * Puts `holderId` in standby slot `slot` until `until`, if the slot is free, lapsed, or already
   * its own, and only on an existing lease item (a standby for a lease nobody ever took would
   * create an item no acquisition condition could pass). Leaves revision and state alone.
   */
  claimStandby(
    request: { name: string; slot: number; holderId: string; until: number; wallNow: number },
    abortSignal?: AbortSignal,
  ): Promise<boolean> {
    const expressions = {
      UpdateExpression: 'SET #slot = :claim',
      ConditionExpression:
        'attribute_exists(#fencingToken) AND (attribute_not_exists(#slot) OR #slot.#until < :wallNow OR #slot.#holderId = :holderId)',
    };
    const values = { ':claim': { holderId: request.holderId, until: request.until }, ':wallNow': request.wallNow, ':holderId': request.holderId };
    return this.standbyWrite(request.name, abortSignal, withAttributeValues(expressions, values, slotNames(request.slot)));
  }

  /** Empties standby slot `slot` if `holderId` has it. */
  releaseStandby(request: { name: string; slot: number; holderId: string }, abortSignal?: AbortSignal): Promise<boolean> {
    const expressions = { UpdateExpression: 'REMOVE #slot', ConditionExpression: '#slot.#holderId = :holderId' };
    return this.standbyWrite(request.name, abortSignal, withAttributeValues(expressions, { ':holderId': request.holderId }, slotNames(request.slot)));
  }

  private async standbyWrite(
    name: string,
    abortSignal: AbortSignal | undefined,
    input: UpdateExpressions,
  ): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: keyOf(name), ...input }), { abortSignal });
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw translateError(error, this.tableName, name);
    }
  }

  /**
   * Reads one lease item: strongly consistent by default; an eventually consistent read costs
   * half as much and is enough for deciding when to try, since every write re-checks the item.
   */
  async read(name: string, abortSignal?: AbortSignal, { consistent = true }: { consistent?: boolean } = {}): Promise<LeaseRecord | undefined> {
    try {
      const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(name), ConsistentRead: consistent }), {
        abortSignal,
      });
      return Item ? toLeaseRecord(unmarshall(Item)) : undefined;
    } catch (error) {
      throw translateError(error, this.tableName, name);
    }
  }

  private async update(
    name: string,
    input: UpdateExpressions,
    abortSignal: AbortSignal | undefined,
  ): Promise<WriteOutcome> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(name),
          ...input,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal },
      );
      if (!Attributes) throw new LeaseStoreError(`UpdateItem on "${name}" returned no attributes`, name, { outcomeUnknown: false });
      return { landed: true, record: toLeaseRecord(unmarshall(Attributes)) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // Backends without ReturnValuesOnConditionCheckFailure (dynalite) return no item:
        // a consistent read, made after the failed write, stands in for it.
        const current = error.Item ? toLeaseRecord(unmarshall(error.Item)) : await this.read(name, abortSignal);
        return { landed: false, current };
      }
      throw translateError(error, this.tableName, name);
    }
  }
}

/** A lease item's key. */
function keyOf(name: string): Record<string, AttributeValue> {
  return { [A.name]: { S: name } };
}

/**
 * The names of a standby slot's expressions: `#slot` is the slot's attribute, and `#holderId` and
 * `#until` the fields of the map stored in it (not the lease's own `holderId`).
 */
function slotNames(slot: number): Record<string, string> {
  return { '#slot': standbySlotAttribute(slot), '#holderId': 'holderId', '#until': 'until' };
}
