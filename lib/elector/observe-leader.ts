/**
 * Watching who leads without campaigning: dashboards, routers that send work to the leader.
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../core/clock.js';
import { backoffMs } from '../core/backoff.js';
import { checkLeases, ELECTION_LEASES, type ElectionLeases, type PeekResult } from '../core/contracts.js';
import { InvalidArgumentError } from '../core/errors.js';
import { isRetryable } from '../core/store-errors.js';
import { checkDurationMs, checkLeaseName, checkTableName, rejectUnknownKeys } from '../core/validate.js';
import type { LeaderInfo } from './leader-elector.js';
import { followLeaseStream, type StreamedWrite, type StreamListener, type StreamsClientLike } from './stream-reader.js';

export type { StreamsClientLike } from './stream-reader.js';

/** What {@link observeLeader} uses of its lease client: a part of {@link ElectionLeases}. */
const OBSERVED_LEASES = { holderId: ELECTION_LEASES.holderId, clock: ELECTION_LEASES.clock, peek: ELECTION_LEASES.peek };

/** Options of {@link observeLeader}. */
export interface ObserveLeaderOptions {
  /**
   * The lease client to look with: a `LeaseClient`, or anything with its `holderId`, `clock` and
   * `peek` (and, to follow a stream, `tableName`).
   */
  readonly leases: Pick<ElectionLeases, 'holderId' | 'clock' | 'peek'> & {
    /** The lease table, whose stream `stream` follows (a `LeaseClient`'s own). */
    readonly tableName?: string;
  };
  /** The lease name the leader holds. */
  readonly name: string;
  /** Stops the observation; the loop ends without error. */
  readonly signal?: AbortSignal;
  /**
   * The longest the observation goes without news of the lease: the longest wait between looks,
   * and, following a stream, the longest wait after the last write it showed. @default 1000
   */
  readonly pollMs?: number;
  /**
   * Follow the lease table's stream: each change is then seen within about a second of its
   * write, and a look is made only when the lease can first expire, `pollMs` after the last news,
   * and when the place in the stream was lost. Without a stream on the table (or while reading it
   * fails) the observation goes on by looking alone.
   */
  readonly stream?: ObserveStreamOptions;
}

/** How {@link observeLeader} reaches the lease table's stream. */
export interface ObserveStreamOptions {
  /** Finds the table's current stream (`DescribeTable`): the lease client's own `DynamoDBClient` will do. */
  readonly client: DynamoDBClient;
  /**
   * Reads the stream: a `DynamoDBStreamsClient` from `@aws-sdk/client-dynamodb-streams` (an
   * optional peer of leasehold, loaded only then), for the same Region and credentials.
   */
  readonly streams: StreamsClientLike;
}

/**
 * Yields the leader each time it changes (`undefined` while nobody leads), starting with the
 * current one. Read-only: half a read unit per look, one look per `pollMs` at most, and one
 * when the current lease can first expire. Throttling and lost connections do not end it: it
 * looks again with backoff (never waiting longer than `pollMs`) and yields nothing new
 * until a look succeeds. Errors a retry cannot cure (a missing table, denied access) are thrown.
 *
 * With `streams`, it also follows the table's stream, and yields each change of leader the stream
 * shows, once and in order, within about a second; renewals yield nothing. Its looks are then
 * strongly consistent (a read unit each), so a look never shows less than the stream already
 * did. A stream it cannot read for now (none on the table, throttling, a lost place) is retried
 * in the background while the looks go on; one it may not read (denied access) ends it with the
 * error, as the table's does.
 *
 *   for await (const leader of observeLeader({ leases, name: 'scheduler', signal })) route(leader);
 */
export async function* observeLeader(options: ObserveLeaderOptions): AsyncGenerator<LeaderInfo | undefined> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, ['leases', 'name', 'signal', 'pollMs', 'stream']);
  const { leases, name, signal, stream } = options;
  checkLeases(leases, 'ElectionLeases (holderId, clock and peek)', OBSERVED_LEASES);
  checkLeaseName(name);
  const pollMs = options.pollMs ?? 1_000;
  checkDurationMs('pollMs', pollMs, { exclusiveMin: true });
  if (stream !== undefined) checkStream(stream, leases.tableName);
  const clock = leases.clock;
  const inbox = new Inbox();
  const stop = new AbortController();
  const stopWithCaller = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', stopWithCaller, { once: true });
  try {
    if (stream !== undefined) {
      const { client, streams } = stream;
      followLeaseStream({ client, streams, tableName: leases.tableName!, name, clock, signal: stop.signal, listener: inbox }).catch((error: unknown) =>
        inbox.failed(error instanceof Error ? error : new Error(String(error))),
      );
      // The first look waits until the stream is read from its newest record, or found unreadable
      // for now: every write after the look is then in the stream.
      if (!(await inbox.wait(clock, Number.POSITIVE_INFINITY, signal, () => inbox.settled))) return;
    }
    const view = new LeaderView(leases.holderId, clock, pollMs);
    for (let failures = 0; !signal?.aborted; ) {
      if (inbox.failure) throw inbox.failure;
      for (const write of inbox.takeWrites()) if (view.sawWrite(write)) yield view.leader;
      if (inbox.takeRepositioned()) view.lookNow();
      if (view.lookDue()) {
        let look: PeekResult;
        try {
          look = await leases.peek(name, { ...(stream !== undefined && { consistent: true }), ...(signal && { signal }) });
          failures = 0;
        } catch (error) {
          if (signal?.aborted) return;
          if (!isRetryable(error)) throw error;
          view.lookAgainIn(Math.min(backoffMs(failures++, clock), pollMs));
          continue;
        }
        if (view.sawLook(look)) yield view.leader;
      }
      if (!(await inbox.wait(clock, view.msUntilLook(), signal))) return;
    }
  } finally {
    signal?.removeEventListener('abort', stopWithCaller);
    stop.abort();
  }
}

function checkStream(stream: ObserveStreamOptions, tableName: string | undefined): void {
  if (stream === null || typeof stream !== 'object') throw new InvalidArgumentError('stream', 'must be an object');
  rejectUnknownKeys('stream', stream, ['client', 'streams']);
  checkClient('stream.client', stream.client, 'DynamoDB', 'a DynamoDBClient from @aws-sdk/client-dynamodb');
  checkClient('stream.streams', stream.streams, 'DynamoDB Streams', 'a DynamoDBStreamsClient from @aws-sdk/client-dynamodb-streams');
  if (typeof tableName !== 'string') throw new InvalidArgumentError('leases', 'must name its table (tableName), as a LeaseClient does, to follow its stream');
  checkTableName(tableName);
}

/** An SDK client by shape; one that names another service is refused, as the two clients are easily swapped. */
function checkClient(argument: string, client: unknown, serviceId: string, what: string): void {
  const found = client as { send?: unknown; config?: { serviceId?: unknown } } | null | undefined;
  const named = found?.config?.serviceId;
  if (typeof found?.send !== 'function' || (typeof named === 'string' && named !== serviceId)) throw new InvalidArgumentError(argument, `must be ${what}`);
}

/**
 * Where the stored lease item stands in its history. Every write keeps or raises it: an
 * acquisition raises the token, a release or the reaper ends the holding, a renewal can only push
 * `expiresAt` later. So a stream record at or below what was already seen is old news.
 */
interface Version {
  readonly fencingToken: number;
  readonly ended: boolean;
  readonly expiresAt: number;
}

function isNewer(a: Version, b: Version): boolean {
  if (a.fencingToken !== b.fencingToken) return a.fencingToken > b.fencingToken;
  if (a.ended !== b.ended) return a.ended;
  return a.expiresAt > b.expiresAt;
}

/** The leader as last seen, the version it was seen at, and when to look next. */
class LeaderView {
  /** The leader to yield after a `saw*` call returned true. */
  leader: LeaderInfo | undefined;
  /** `undefined` before anything was seen, or once the item is gone. */
  private version: Version | undefined;
  private key: string | undefined;
  private lookAt: number;

  constructor(
    private readonly holderId: string,
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {
    this.lookAt = clock.monotonicNow();
  }

  lookDue(): boolean {
    return this.clock.monotonicNow() >= this.lookAt;
  }

  lookNow(): void {
    this.lookAt = this.clock.monotonicNow();
  }

  lookAgainIn(ms: number): void {
    this.lookAt = this.clock.monotonicNow() + ms;
  }

  msUntilLook(): number {
    return Math.max(0, this.lookAt - this.clock.monotonicNow());
  }

  /** Takes in a look (the lease as this client's clock judges it); true if the leader changed. */
  sawLook({ lease, takeableInMs }: PeekResult): boolean {
    const leader = lease?.state === 'held' ? lease : undefined;
    // Only a release is known to have ended the holding: `expired` may be this client's own judgement.
    this.version = lease && { fencingToken: lease.fencingToken, ended: lease.state === 'released', expiresAt: lease.expiresAt };
    this.lookAgainIn(leader ? Math.min(Math.max(takeableInMs, 1), this.pollMs) : this.pollMs);
    return this.show(leader);
  }

  /** Takes in a write the stream showed; true if the leader changed. */
  sawWrite(write: StreamedWrite): boolean {
    if (write.kind === 'keys') {
      this.lookNow();
      return false;
    }
    if (write.kind === 'removed') {
      this.version = undefined;
      this.lookAgainIn(this.pollMs);
      return this.show(undefined);
    }
    const version = { fencingToken: write.fencingToken, ended: write.state !== 'held', expiresAt: write.expiresAt };
    if (this.version && !isNewer(version, this.version)) return false;
    this.version = version;
    const leader = version.ended ? undefined : write;
    // The lease cannot expire before its expiresAt: the next look waits for that, the stream meanwhile
    // showing any write.
    this.lookAgainIn(leader ? Math.min(Math.max(write.expiresAt - this.clock.wallNow(), 1), this.pollMs) : this.pollMs);
    return this.show(leader);
  }

  private show(lease: { holderId: string; fencingToken: number } | undefined): boolean {
    const key = lease ? `${lease.holderId}/${lease.fencingToken}` : '';
    if (key === this.key) return false;
    this.key = key;
    this.leader = lease && { holderId: lease.holderId, fencingToken: lease.fencingToken, isSelf: lease.holderId === this.holderId };
    return true;
  }
}

/** What the stream follower reported and the observation has not taken in yet. */
class Inbox implements StreamListener {
  /** The follower has read from the newest records, or found the stream unreadable for now, or failed. */
  settled = false;
  failure: Error | undefined;
  private writes: StreamedWrite[] = [];
  private repositioned = false;
  private wake: (() => void) | undefined;

  write(write: StreamedWrite): void {
    this.writes.push(write);
    this.notify();
  }

  positioned(): void {
    this.settled = true;
    this.repositioned = true;
    this.notify();
  }

  unavailable(): void {
    this.settled = true;
    this.notify();
  }

  failed(error: Error): void {
    this.settled = true;
    this.failure = error;
    this.notify();
  }

  takeWrites(): StreamedWrite[] {
    return this.writes.splice(0);
  }

  /** Whether the follower started again from the newest records since the last call. */
  takeRepositioned(): boolean {
    const repositioned = this.repositioned;
    this.repositioned = false;
    return repositioned;
  }

  /**
   * Waits until `ready()` (by default: there is news), or `ms` on `clock`; false if `signal`
   * aborted first.
   */
  wait(clock: Clock, ms: number, signal: AbortSignal | undefined, ready = () => this.hasNews()): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        timer?.cancel();
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve(result);
      };
      const onAbort = () => finish(false);
      const timer = Number.isFinite(ms) ? clock.setTimer(() => finish(true), ms) : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        if (ready()) finish(true);
      };
    });
  }

  private hasNews(): boolean {
    return this.writes.length > 0 || this.repositioned || this.failure !== undefined;
  }

  private notify(): void {
    this.wake?.();
  }
}
