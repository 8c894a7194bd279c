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
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const what = leaseName === undefined ? `table "${tableName}"` : `lease "${leaseName}"`;
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
      false,
      { cause: error },
    );
  }
  if (THROTTLING.has(name)) {
    return new LeaseStoreError(`DynamoDB throttled a request on ${what}: ${message}`, leaseName, false, {
      cause: error,
      retryable: true,
    });
  }
  if ((error as { code?: string }).code === 'ECONNREFUSED') {
    // Refused before anything was sent: the outcome is known (nothing happened).
    return new LeaseStoreError(`Could not connect to DynamoDB for ${what} (${message})`, leaseName, false, {
      cause: error,
      retryable: true,
    });
  }
  // No HTTP status means the request may have left and the answer been lost; a 5xx means the
  // service itself could not say. Either way the write may have landed.
  if (status === undefined || status >= 500) {
    return new LeaseStoreError(
      `DynamoDB request on ${what} failed with an unknown outcome (${name}: ${message})`,
      leaseName,
      true,
      { cause: error },
    );
  }
  return new LeaseStoreError(`DynamoDB rejected a request on ${what} (${name}: ${message})`, leaseName, false, {
    cause: error,
  });
}

/** Whether an operation may be sent again: throttled, refused, or its outcome unknown. */
export function isRetryable(error: unknown): error is LeaseStoreError {
  return error instanceof LeaseStoreError && error.retryable;
}
