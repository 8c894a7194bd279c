/**
 * Following a lease table's DynamoDB stream for the writes to one lease item, for `observeLeader`:
 * each write within about a second, in the order the writes landed. `@aws-sdk/client-dynamodb-streams`
 * is an optional peer, loaded only once a stream is followed.
 *
 * @module
 */
import { DescribeTableCommand, type DescribeTableCommandOutput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamRecord, DescribeStreamOutput, GetRecordsOutput, GetShardIteratorOutput, Shard } from '@aws-sdk/client-dynamodb-streams';
import { sleep, type Clock } from '../core/clock.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, withDeadline } from '../core/deadline.js';
import { LeaseholdError, LeaseStoreError } from '../core/errors.js';
import { LeaseAttribute as A, STORED_LEASE_STATES, type StoredLeaseState } from '../core/schema.js';

/**
 * The part of a `DynamoDBStreamsClient` (from `@aws-sdk/client-dynamodb-streams`) that
 * `observeLeader` uses, by shape, so that the root entry point's types name no optional package.
 */
export interface StreamsClientLike {
  /** Sends one DynamoDB Streams command, as `DynamoDBStreamsClient.send` does. */
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** What the stream shows of the watched lease item after one write. */
export type StreamedWrite =
  /** The item as the write left it. */
  | { readonly kind: 'image'; readonly holderId: string; readonly fencingToken: number; readonly state: StoredLeaseState; readonly expiresAt: number }
  /** The item was deleted (never by leasehold; an operator may). */
  | { readonly kind: 'removed' }
  /** The stream carries no new image (`KEYS_ONLY`, `OLD_IMAGE`): only a read can tell what changed. */
  | { readonly kind: 'keys' };

/** Where a {@link followLeaseStream} reports. Calls come in order, one at a time. */
export interface StreamListener {
  /** A write to the watched item; writes come in the order they landed. */
  write(write: StreamedWrite): void;
  /** Reading (again) from each shard's newest record: earlier writes may be in the table alone. */
  positioned(): void;
  /** Not following for now: the table has no stream, or a read failed and is being retried. */
  unavailable(): void;
  /** An error no retry can cure (access denied, ...): following has stopped for good. */
  failed(error: Error): void;
}

/** What {@link followLeaseStream} needs. */
export interface FollowOptions {
  /** Finds the table's current stream (`DescribeTable`). */
  readonly client: DynamoDBClient;
  /** Reads it. */
  readonly streams: StreamsClientLike;
  readonly tableName: string;
  /** The lease name whose writes are reported. */
  readonly name: string;
  /** Paces the reads and bounds each request, as it does the observer's looks. */
  readonly clock: Clock;
  /** Ends the following. */
  readonly signal: AbortSignal;
  readonly listener: StreamListener;
}

type StreamsSdk = typeof import('@aws-sdk/client-dynamodb-streams');

/**
 * Between two reads of shards that had nothing new: how late a write can be seen. Every reader
 * of a shard shares DynamoDB's five reads a second per shard: two observers of one table fit.
 */
const STREAM_IDLE_MS = 500;
/**
 * Looking again for a stream the table lacks (a server without streams, such as dynalite, shows
 * none), or after losing the place in it more than once in a row: from this, doubling...
 */
const RECHECK_FIRST_MS = 1_000;
/** ...up to this. */
const RECHECK_MAX_MS = 60_000;
/** Resending a throttled or unanswered request: from this, doubling... */
const RETRY_FIRST_MS = 100;
/** ...up to this; meanwhile the observer's own looks go on. */
const RETRY_MAX_MS = 30_000;
/** As many records as one read may return. */
const RECORDS_PER_READ = 1_000;

/** Our place in the stream was lost: start again at the newest records. */
const POSITION_LOST = new Set(['ExpiredIteratorException', 'TrimmedDataAccessException', 'ResourceNotFoundException']);
const THROTTLED = new Set(['LimitExceededException', 'ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded']);

type Verdict = 'retry' | 'reposition' | 'fatal';

function verdictOn(error: unknown): Verdict {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (POSITION_LOST.has(name)) return 'reposition';
  if (error instanceof TypeError || error instanceof ReferenceError) return 'fatal';
  // No status: the connection failed or the request's deadline passed.
  if (THROTTLED.has(name) || status === undefined || status >= 500) return 'retry';
  return 'fatal';
}

/** Grows from `firstMs`, doubling per attempt up to `maxMs`, with "equal jitter". */
function spreadMs(attempt: number, firstMs: number, maxMs: number, clock: Clock): number {
  const ceiling = Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (clock.random() * ceiling) / 2;
}

/**
 * Follows the table's latest enabled stream until `signal` aborts, reporting each write to `name`.
 * Retries what a retry can cure; a lost place in the stream starts it again at the newest records
 * (then `positioned` says the caller should look at the item). Never rejects.
 */
export async function followLeaseStream(options: FollowOptions): Promise<void> {
  const { signal, listener, clock } = options;
  let sdk: StreamsSdk;
  try {
    sdk = await import('@aws-sdk/client-dynamodb-streams');
  } catch (error) {
    const what = 'observeLeader could not load @aws-sdk/client-dynamodb-streams for its streams option: npm install @aws-sdk/client-dynamodb-streams';
    listener.failed(new LeaseholdError(what, { cause: error }));
    return;
  }
  const reader = new StreamReader(options, sdk);
  // Setbacks since the stream was last read (no stream, a lost place): the first lost place is
  // taken up again at once.
  let setbacks = 0;
  const pause = () => sleep(clock, spreadMs(setbacks++, RECHECK_FIRST_MS, RECHECK_MAX_MS, clock), signal).catch(() => undefined);
  while (!signal.aborted) {
    const readsBefore = reader.reads;
    try {
      const stream = await reader.latestStream();
      if (stream) await reader.read(stream);
      else listener.unavailable();
      // The stream was turned off, or there is none yet.
      if (reader.reads > readsBefore) setbacks = 0;
      await pause();
    } catch (error) {
      if (reader.reads > readsBefore) setbacks = 0;
      if (signal.aborted) return;
      if (verdictOn(error) === 'fatal') {
        const { name = 'Error', message = String(error) } = error as { name?: string; message?: string };
        const what = `DynamoDB Streams refused to read the stream of table "${options.tableName}" (${name}: ${message})`;
        listener.failed(new LeaseStoreError(what, options.name, { outcomeUnknown: false, retryable: false, cause: error }));
        return;
      }
      listener.unavailable();
      if (setbacks > 0 || verdictOn(error) !== 'reposition') await pause();
      else setbacks++;
    }
  }
}

/** The table's stream as DescribeStream shows it. */
interface StreamState {
  readonly arn: string;
  readonly shards: readonly Shard[];
}

class StreamReader {
  /** Rounds of reads that succeeded. */
  reads = 0;

  constructor(
    private readonly options: FollowOptions,
    private readonly sdk: StreamsSdk,
  ) {}

  /**
   * The table's stream, if one is on. Found with `DescribeTable` rather than `ListStreams`, which
   * IAM cannot scope to a table (the `LeaseTable` construct's `grantObserve` grants the former).
   */
  async latestStream(): Promise<StreamState | undefined> {
    const { client, tableName } = this.options;
    const { Table }: DescribeTableCommandOutput = await this.send(client, () => new DescribeTableCommand({ TableName: tableName }));
    const arn = Table?.StreamSpecification?.StreamEnabled ? Table.LatestStreamArn : undefined;
    if (!arn) return undefined;
    const { status, shards } = await this.describe(arn);
    return status === 'ENABLED' ? { arn, shards } : undefined;
  }

  /**
   * Reads the stream until no shard of it is left open (it was turned off), or an error says the
   * place in it is lost.
   */
  async read(stream: StreamState): Promise<void> {
    const { signal, listener, clock } = this.options;
    // 1. Start at the newest record of every open shard; the shards already closed hold only the
    //    past. From here on, every write to the item is in what these shards return.
    const reading = new Map<string, string>();
    const known = new Set(stream.shards.map((shard) => shard.ShardId!));
    for (const shard of stream.shards.filter(isOpen)) reading.set(shard.ShardId!, await this.iterator(stream.arn, shard.ShardId!, 'LATEST'));
    if (reading.size === 0) return;
    listener.positioned();
    while (!signal.aborted && reading.size > 0) {
      // 2. One read of every shard; each shard's records in order.
      const pages = await Promise.all([...reading].map(async ([id, iterator]) => ({ id, page: await this.records(iterator) })));
      this.reads++;
      let found = false;
      let closed = false;
      for (const { id, page } of pages) {
        for (const record of page.Records ?? []) {
          const write = writeTo(this.options.name, record);
          if (write) listener.write(write);
        }
        found ||= (page.Records ?? []).length > 0;
        if (page.NextShardIterator) reading.set(id, page.NextShardIterator);
        else {
          reading.delete(id);
          closed = true;
        }
      }
      // 3. A shard closes when it is split or rolled over: its children take over. A child is read
      //    from its first record, and only once its parent is read to the end, so the writes to
      //    one item keep their order across the two.
      if (closed) await this.adoptChildren(stream.arn, reading, known);
      if (!found) await sleep(clock, STREAM_IDLE_MS, signal);
    }
  }

  private async adoptChildren(arn: string, reading: Map<string, string>, known: Set<string>): Promise<void> {
    const { shards } = await this.describe(arn);
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (known.has(id) || (shard.ParentShardId !== undefined && reading.has(shard.ParentShardId))) continue;
      known.add(id);
      reading.set(id, await this.iterator(arn, id, 'TRIM_HORIZON'));
    }
    // Closed shards leave the listing after 24 hours; so do they here.
    const listed = new Set(shards.map((shard) => shard.ShardId));
    for (const id of known) if (!listed.has(id)) known.delete(id);
  }

  private async describe(arn: string): Promise<{ status: string | undefined; shards: Shard[] }> {
    const shards: Shard[] = [];
    let status: string | undefined;
    let start: string | undefined;
    do {
      const { StreamDescription: page }: DescribeStreamOutput = await this.send(this.options.streams, () => new this.sdk.DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }));
      status = page?.StreamStatus;
      shards.push(...(page?.Shards ?? []).filter((shard) => shard.ShardId));
      start = page?.LastEvaluatedShardId;
    } while (start);
    return { status, shards };
  }

  private async iterator(arn: string, shardId: string, type: 'LATEST' | 'TRIM_HORIZON'): Promise<string> {
    const { ShardIterator }: GetShardIteratorOutput = await this.send(this.options.streams, () => new this.sdk.GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: type }));
    if (!ShardIterator) throw Object.assign(new Error(`no iterator for shard ${shardId}`), { name: 'ResourceNotFoundException' });
    return ShardIterator;
  }

  private records(iterator: string): Promise<GetRecordsOutput> {
    return this.send(this.options.streams, () => new this.sdk.GetRecordsCommand({ ShardIterator: iterator, Limit: RECORDS_PER_READ }));
  }

  /**
   * One request under a deadline, sent again with growing pauses while it is throttled or
   * unanswered (an iterator stays valid for 15 minutes, so the place in the stream survives).
   */
  private async send<T>(client: Pick<StreamsClientLike, 'send'>, command: () => object): Promise<T> {
    const { clock, signal, listener } = this.options;
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        return (await withDeadline(clock, DEFAULT_REQUEST_TIMEOUT_MS, signal, (abortSignal) => client.send(command(), { abortSignal }))) as T;
      } catch (error) {
        if (signal.aborted || verdictOn(error) !== 'retry') throw error;
        if (attempt === 0) listener.unavailable();
        await sleep(clock, spreadMs(attempt, RETRY_FIRST_MS, RETRY_MAX_MS, clock), signal);
      }
    }
  }
}

function isOpen(shard: Shard): boolean {
  return shard.SequenceNumberRange?.EndingSequenceNumber === undefined;
}

/** What `record` says of the item `name`, or `undefined` for a record of another item. */
function writeTo(name: string, record: StreamRecord): StreamedWrite | undefined {
  const data = record.dynamodb;
  if (data?.Keys?.[A.name]?.S !== name) return undefined;
  if (record.eventName === 'REMOVE') return { kind: 'removed' };
  const image = data.NewImage;
  const state = image?.[A.state]?.S;
  const fencingToken = Number(image?.[A.fencingToken]?.N);
  const expiresAt = Number(image?.[A.expiresAt]?.N);
  const holderId = image?.[A.holderId]?.S;
  if (holderId === undefined || !isStoredState(state) || !Number.isSafeInteger(fencingToken) || !Number.isFinite(expiresAt)) {
    return { kind: 'keys' };
  }
  return { kind: 'image', holderId, fencingToken, state, expiresAt };
}

function isStoredState(state: string | undefined): state is StoredLeaseState {
  return (STORED_LEASE_STATES as readonly (string | undefined)[]).includes(state);
}
