/**
 * Faults and counters injected through the SDK's own middleware stack, so every request still
 * goes to a real DynamoDB server: nothing here imitates DynamoDB's semantics.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ManualClock, type Clock } from '../../lib/index.js';

/** An error shaped like the SDK's own for a connection that died mid-request (no HTTP status). */
export function networkError(): Error {
  return Object.assign(new Error('socket hang up (injected)'), { name: 'TimeoutError', code: 'ECONNRESET' });
}

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

/**
 * Lets the chosen requests reach DynamoDB, then throws a network error instead of the answer:
 * the write landed, the caller cannot know it. `drop` decides per call, by operation name.
 */
export function loseResponses(client: DynamoDBClient, drop: (operation: string) => boolean): { dropped(): number } {
  let dropped = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (drop(String(context.commandName ?? '').replace(/Command$/, ''))) {
        dropped++;
        throw networkError();
      }
      return result;
    },
    { step: 'initialize', name: 'leaseholdTestLoseResponses' },
  );
  // Tests assert on this: a fault that never fired proves nothing.
  return { dropped: () => dropped };
}

/** Makes every request fail before it is sent while `down()` is true: the store is unreachable. */
export function cutOff(client: DynamoDBClient, down: () => boolean): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      if (down()) throw networkError();
      return next(args);
    },
    { step: 'initialize', name: 'leaseholdTestCutOff' },
  );
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
