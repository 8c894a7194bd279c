/**
 * A kit for testing code that uses leasehold against a real DynamoDB server, the way leasehold
 * tests itself: a `ManualClock` for deterministic expiry, DynamoDB Local (or dynalite) on
 * loopback, and faults injected through the SDK's middleware stack (lost responses, throttling,
 * DynamoDB's transaction conflicts) while every request that goes out still reaches the server.
 * DynamoDB Local needs Java and the `amplify-dynamodb-simulator` package; dynalite needs
 * `dynalite`. Neither is loaded until it is started.
 *
 * @packageDocumentation
 */
export { ManualClock } from '../core/clock.js';
export { startDynamoDBLocal, startDynalite, startEmbeddedDynamoDB, localClientConfig, javaAvailable } from './local-dynamodb.js';
export type { LocalDynamoDB } from './local-dynamodb.js';
export { cutOff, landThenThrottle, loseResponses, networkError, throttlingError } from './faults.js';
export { emulateTransactionConflicts } from './transaction-conflicts.js';
export type { TransactionConflictOptions, TransactionConflictCounts, TransactionConflicts } from './transaction-conflicts.js';
