/**
 * Every error leasehold throws. One base class, so `catch (e) { if (e instanceof LeaseholdError) }`
 * catches them all; each subclass carries the context a caller needs to decide what to do next.
 * SDK error types never escape the library: the store translates them in one place.
 *
 * @module
 */

/** What is known of a lease's stored holder when an operation fails because of it. */
export interface HolderSnapshot {
  /** The holder the store shows (the last one, if the lease was released or marked expired). */
  readonly holderId: string;
  /** The token the store shows: higher than the caller's once someone else has acquired since. */
  readonly fencingToken: number;
  /** Wall-clock epoch ms the holder wrote as its expiry. */
  readonly expiresAt: number;
}

/** Base class of every error leasehold throws. */
export class LeaseholdError extends Error {
  /**
   * The class's name (each subclass sets its own), kept in logs and serialized errors. Compare it
   * where `instanceof` cannot work, e.g. against an error from another copy of leasehold.
   */
  override readonly name: string = 'LeaseholdError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An argument or option is invalid. Nothing was sent to DynamoDB. */
export class InvalidArgumentError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'InvalidArgumentError';
  /** The option or argument at fault, e.g. `leaseMs`. */
  readonly argument: string;
  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`);
    this.argument = argument;
  }
}

/** The lease is held by someone else and did not become free within the wait allowed. */
export class LeaseUnavailableError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'LeaseUnavailableError';
  /** The lease that could not be acquired. */
  readonly leaseName: string;
  /** The holder last seen, when one was seen. */
  readonly holder: HolderSnapshot | undefined;
  /**
   * How long the caller waited, on its monotonic clock; 0 from a `singleton` with
   * `onBusy: 'throw'`, which does not wait.
   */
  readonly waitedMs: number;
  constructor(leaseName: string, holder: HolderSnapshot | undefined, waitedMs: number) {
    const who = holder
      ? ` (held by ${holder.holderId} with fencing token ${holder.fencingToken}, ${
          // A lease held through a session has no expiry of its own.
          Number.isFinite(holder.expiresAt) ? `expiring at ${new Date(holder.expiresAt).toISOString()}` : 'for as long as its session lives'
        })`
      : '';
    super(
      `Lease "${leaseName}" is unavailable after waiting ${Math.round(waitedMs)} ms${who}. ` +
        'Wait longer (waitMs) or use tryAcquire to skip when busy.',
    );
    this.leaseName = leaseName;
    this.holder = holder;
    this.waitedMs = waitedMs;
  }
}

/** Why a holder no longer holds its lease. */
export type LeaseLossReason =
  /** Its monotonic deadline passed before a renewal succeeded. */
  | 'expired'
  /** The store shows another holder, a newer fencing token, or the lease marked expired. */
  | 'taken'
  /** The holder released it. */
  | 'released'
  /**
   * The holder stopped trusting it without writing anything, because the work it guarded may
   * still be running (a Lambda body middy timed out): it stays held in the table until it lapses.
   */
  | 'abandoned'
  /**
   * The holder gave it up (released it) because the work it guarded stopped reporting progress,
   * or its event loop lagged past a bound (`LeaderElector`'s `stallMs`, `maxEventLoopLagMs`).
   */
  | 'stalled';

/** The caller no longer holds the lease (or can no longer prove it does). Stop acting on it. */
export class LeaseLostError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'LeaseLostError';
  /** The lease that was lost. */
  readonly leaseName: string;
  /** The fencing token the caller held. */
  readonly fencingToken: number;
  /**
   * Why: the holder gave it up (`released`, `abandoned`, `stalled`), or can no longer prove it holds it
   * (`expired`, `taken`).
   */
  readonly reason: LeaseLossReason;
  /** What the store held when the loss was detected there, if it was. */
  readonly current: HolderSnapshot | undefined;
  constructor(
    leaseName: string,
    fencingToken: number,
    reason: LeaseLossReason,
    current?: HolderSnapshot,
    options?: { cause?: unknown },
  ) {
    const why = {
      expired: 'its monotonic deadline passed without a successful renewal',
      taken: current
        ? `the store no longer shows it held with this token (it shows holder ${current.holderId}, fencing token ${current.fencingToken})`
        : 'the store no longer shows it held with this token',
      released: 'it was released',
      abandoned: 'its holder gave it up while the work it guarded may still run; it lapses on its own',
      stalled: 'its holder released it because the work it guarded stalled',
    }[reason];
    super(`Lease "${leaseName}" (fencing token ${fencingToken}) is lost: ${why}.`, options);
    this.leaseName = leaseName;
    this.fencingToken = fencingToken;
    this.reason = reason;
    this.current = current;
  }
}

/** A fenced write was refused because the writer no longer holds its lease. Nothing was written. */
export class FencedWriteRejectedError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'FencedWriteRejectedError';
  /** The lease the write was fenced by. */
  readonly leaseName: string;
  /** The fencing token the writer held: the lease is no longer held with it. */
  readonly fencingToken: number;
  constructor(leaseName: string, fencingToken: number, options?: { cause?: unknown }) {
    super(
      `Fenced write refused: lease "${leaseName}" is no longer held with fencing token ${fencingToken}. ` +
        'Nothing was written; stop acting as its holder.',
      options,
    );
    this.leaseName = leaseName;
    this.fencingToken = fencingToken;
  }
}

/** The lease table does not exist (or the credentials cannot see it). */
export class TableNotFoundError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'TableNotFoundError';
  /** The table name as configured: check it, and the client's region and endpoint. */
  readonly tableName: string;
  constructor(tableName: string, options?: { cause?: unknown }) {
    super(
      `Lease table "${tableName}" was not found. Create it with createLeaseTable(client, "${tableName}") ` +
        'or deploy the LeaseTable construct, and check the region and endpoint.',
      options,
    );
    this.tableName = tableName;
  }
}

/** The table exists but is not a lease table: its key schema differs, or it lacks the reaper index. */
export class TableSchemaMismatchError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'TableSchemaMismatchError';
  /** The table that is not a lease table; the message says what is wrong with it. */
  readonly tableName: string;
  constructor(tableName: string, detail: string, options?: { cause?: unknown }) {
    super(
      `Table "${tableName}" is not a leasehold lease table: ${detail}. ` +
        'Point tableName at a table made by createLeaseTable or the LeaseTable construct.',
      options,
    );
    this.tableName = tableName;
  }
}

/**
 * DynamoDB failed in a way leasehold could not resolve: access denied, a persistent network
 * failure, throttling that outlasted the retries. `outcomeUnknown` says whether the failed write
 * may still have landed; leasehold has already tried to reconcile and, where it could, to undo it.
 */
export class LeaseStoreError extends LeaseholdError {
  /** See {@link LeaseholdError.name}. */
  override readonly name: string = 'LeaseStoreError';
  /**
   * The lease the failed request was for; `undefined` for requests on the whole table (creating
   * or verifying it, listing leases, the reaper's index queries).
   */
  readonly leaseName: string | undefined;
  /** The failed write may have landed. */
  readonly outcomeUnknown: boolean;
  /** Sending the same request again may succeed (throttling, lost connections, 5xx). */
  readonly retryable: boolean;
  /** `retryable` defaults to `outcomeUnknown`: a write that may have landed is resent to learn how it ended. */
  constructor(
    message: string,
    leaseName: string | undefined,
    options: { outcomeUnknown: boolean; retryable?: boolean; cause?: unknown },
  ) {
    super(message, options);
    this.leaseName = leaseName;
    this.outcomeUnknown = options.outcomeUnknown;
    this.retryable = options.retryable ?? options.outcomeUnknown;
  }
}

/**
 * DynamoDB refused a write because a transaction on the same item was in progress
 * (`TransactionConflictException`), or cancelled a transaction that met another write on one of
 * its items (reason `TransactionConflict`). The send that met the conflict wrote nothing, and sending
 * it again may succeed; if the SDK had sent it more than once, an earlier send may have landed, and
 * `outcomeUnknown` says so.
 * Distinct from {@link FencedWriteRejectedError}: the lease was not found lost, only busy.
 */
export class TransactionConflictError extends LeaseStoreError {
  /** See {@link LeaseholdError.name}. */
  override readonly name = 'TransactionConflictError';
  constructor(message: string, leaseName: string | undefined, options: { outcomeUnknown: boolean; cause?: unknown }) {
    super(message, leaseName, { ...options, retryable: true });
  }
}
