/**
 * Faults and counters injected through the SDK's own middleware stack, so every request still
 * goes to a real DynamoDB server: nothing here imitates DynamoDB's semantics.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ManualClock, type Clock } from '../../lib/index.js';

export { cutOff, landThenThrottle, loseResponses, networkError } from '../../lib/testing/faults.js';
export { emulateTransactionConflicts } from '../../lib/testing/transaction-conflicts.js';

/** Counts the HTTP requests a client sends, per DynamoDB operation (`UpdateItem`, `GetItem`, ...; SDK retries included). */
export function countRequests(client: DynamoDBClient): { total(): number; of(operation: string): number; reset(): void } {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'leaseholdTestCounter' },
  );
  return {
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    of: (operation) => counts.get(operation) ?? 0,
    reset: () => counts.clear(),
  };
}

/** A view of `base` whose wall clock reads `offsetMs` ahead (negative: behind); timers are shared. */
export function skewed(base: ManualClock, offsetMs: number): Clock {
  return {
    monotonicNow: () => base.monotonicNow(),
    wallNow: () => base.wallNow() + offsetMs,
    random: () => base.random(),
    setTimer: (callback, delayMs, options) => base.setTimer(callback, delayMs, options),
  };
}
