/**
 * The one place where SDK errors become leasehold's typed errors, and the rule for which of them
 * may be sent again.
 *
 * @module
 */
import {
  InvalidArgumentError,
  LeaseStoreError,
  LeaseholdError,
  TableNotFoundError,
  TableSchemaMismatchError,
  TransactionConflictError,
} from './errors.js';
import { LeaseAttribute as A } from './schema.js';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/** Turns any SDK failure into a typed leasehold error. Exported for the other DynamoDB callers. */
export function translateError(error: unknown, tableName: string, leaseName: string | undefined): LeaseholdError {
  if (error instanceof LeaseholdError) return error;
  const { name = 'Error', message = String(error) } = (error ?? {}) as { name?: string; message?: string };
  const metadata = (error as { $metadata?: { httpStatusCode?: number; attempts?: number } } | undefined)?.$metadata;
  const status = metadata?.httpStatusCode;
  const what = leaseName === undefined ? `table "${tableName}"` : `lease "${leaseName}"`;
  // The SDK resends by itself, and its final error describes only the last attempt: an earlier
  // one may have landed and lost its answer, so after a resend nothing is known of the outcome.
  const resent = (metadata?.attempts ?? 1) > 1;
  const unknownAfterResend = resent ? ` The SDK sent it ${metadata?.attempts} times; an earlier attempt may have landed.` : '';
  if (name === 'ResourceNotFoundException') return new TableNotFoundError(tableName, { cause: error });
  if (name === 'ValidationException' && /key element does not match the schema|required keys was not given a value/i.test(message)) {
    return new TableSchemaMismatchError(tableName, `its key is not "${A.name}" (string)`, { cause: error });
  }
  if (name === 'ValidationException' && /item size/i.test(message)) {
    return new InvalidArgumentError('data', `makes the lease item larger than DynamoDB allows (${message})`);
  }
  if (name === 'CredentialsProviderError') {
    return new LeaseStoreError(
      `No AWS credentials for ${what}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (${message})`,
      leaseName,
      { outcomeUnknown: false, cause: error },
    );
  }
  if (isTransactionConflict(error)) {
    return new TransactionConflictError(
      `A transaction in progress on ${what} conflicted with this request; nothing was written (${name}: ${message}).${unknownAfterResend}`,
      leaseName,
      { outcomeUnknown: resent, cause: error },
    );
  }
  if (THROTTLING.has(name)) {
    return new LeaseStoreError(`DynamoDB throttled a request on ${what}: ${message}.${unknownAfterResend}`, leaseName, {
      outcomeUnknown: resent,
      cause: error,
      retryable: true,
    });
  }
  if ((error as { code?: string }).code === 'ECONNREFUSED') {
    // Refused before anything was sent: the outcome is known (nothing happened), unless an
    // earlier attempt got through.
    return new LeaseStoreError(`Could not connect to DynamoDB for ${what} (${message}).${unknownAfterResend}`, leaseName, {
      outcomeUnknown: resent,
      cause: error,
      retryable: true,
    });
  }
  if (name === 'AbortError') {
    return new LeaseStoreError(
      `DynamoDB request on ${what} was aborted before an answer (its deadline passed, or its signal fired): the outcome is unknown (${message})`,
      leaseName,
      { outcomeUnknown: true, cause: error },
    );
  }
  // No HTTP status means the request may have left and the answer been lost; a 5xx means the
  // service itself could not say. Either way the write may have landed.
  if (status === undefined || status >= 500) {
    return new LeaseStoreError(
      `DynamoDB request on ${what} failed with an unknown outcome (${name}: ${message})`,
      leaseName,
      { outcomeUnknown: true, cause: error },
    );
  }
  return new LeaseStoreError(`DynamoDB rejected a request on ${what} (${name}: ${message}).${unknownAfterResend}`, leaseName, {
    outcomeUnknown: resent,
    cause: error,
    retryable: false,
  });
}

/**
 * A write refused for a transaction in progress on its item, or a transaction cancelled for
 * meeting another write: nothing was written. A cancellation that also names a failed condition
 * is not one: the condition is the answer.
 */
function isTransactionConflict(error: unknown): boolean {
  const { name, CancellationReasons } = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (name === 'TransactionConflictException') return true;
  if (name !== 'TransactionCanceledException' || !CancellationReasons) return false;
  const codes = CancellationReasons.map((reason) => reason.Code);
  return codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
}

/** Whether an operation may be sent again: throttled, refused, or its outcome unknown. */
export function isRetryable(error: unknown): error is LeaseStoreError {
  return error instanceof LeaseStoreError && error.retryable;
}
