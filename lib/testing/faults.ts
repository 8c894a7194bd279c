/**
 * Faults injected through the SDK's own middleware stack, so every request that does go out still
 * reaches a real DynamoDB server: nothing here imitates DynamoDB's semantics. Used by the tests
 * (one fault, made reproducible) and the chaos run (faults switched on and off at random).
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { emulateTransactionConflicts } from './transaction-conflicts.js';

const operationOf = (context: { commandName?: string }) => String(context.commandName ?? '').replace(/Command$/, '');

/** An error shaped like the SDK's own for a connection that died mid-request (no HTTP status). */
export function networkError(): Error {
  return Object.assign(new Error('socket hang up (injected)'), { name: 'TimeoutError', code: 'ECONNRESET' });
}

/** An error shaped like DynamoDB's answer to a throttled request (HTTP 400, nothing written). */
export function throttlingError(): Error {
  return Object.assign(new Error('The level of configured provisioned throughput for the table was exceeded (injected)'), {
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

/**
 * Lets the chosen requests reach DynamoDB, then throws a network error instead of the answer:
 * the write landed, the caller cannot know it. `drop` decides per call, by operation name.
 */
export function loseResponses(
  client: DynamoDBClient,
  drop: (operation: string) => boolean,
): {
  /** How many answers were lost so far: a fault that never fired proves nothing. */
  dropped(): number;
} {
  let dropped = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (drop(operationOf(context))) {
        dropped++;
        throw networkError();
      }
      return result;
    },
    { step: 'initialize', name: 'leaseholdFaultLoseResponses' },
  );
  // Callers assert on this: a fault that never fired proves nothing.
  return { dropped: () => dropped };
}

/** Makes every request fail before it is sent while `down()` is true: the store is unreachable. */
export function cutOff(client: DynamoDBClient, down: () => boolean): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      if (down()) throw networkError();
      return next(args);
    },
    { step: 'initialize', name: 'leaseholdFaultCutOff' },
  );
}

/** What {@link injectNetworkFaults} does to each request, read afresh per request so it can change. */
export interface NetworkFaultSettings {
  /** Chance that a request is refused as throttled before it is sent. */
  throttleRate: number;
  /** Chance that a request reaches DynamoDB but its answer is lost. */
  dropRate: number;
  /** Each request waits a random time up to this before it is sent. */
  maxLatencyMs: number;
  /**
   * Chance that a request's first HTTP attempt lands and loses its answer while the SDK's own
   * resends of it are throttled: the caller sees only throttling.
   */
  hiddenRetryRate: number;
  /** Chance that a write meets another process's transaction on one of its items. */
  conflictRate: number;
}

/** No faults at all. */
export const HEALTHY_NETWORK: NetworkFaultSettings = { throttleRate: 0, dropRate: 0, maxLatencyMs: 0, hiddenRetryRate: 0, conflictRate: 0 };

/** Tallies of the faults that actually fired. */
export interface NetworkFaultCounts {
  /** Requests refused as throttled before they were sent. */
  throttled: number;
  /** Requests that reached DynamoDB and lost their answer. */
  dropped: number;
  /** Requests held back by injected latency. */
  delayed: number;
  /** Requests whose first attempt landed unseen behind throttled resends. */
  hiddenRetries: number;
  /** Writes refused, and transactions cancelled, for a transaction conflict. */
  conflicts: number;
}

/** How many unanswered commands the hidden-retry fault remembers (each for its SDK resends). */
const REMEMBERED_COMMANDS = 100;

/**
 * Throttling, lost answers, latency, hidden SDK retries and transaction conflicts at the rates
 * `settings()` gives at each request, decided by `random`. Throttling, lost answers and latency
 * are injected outside the SDK's retry loop, so the caller's own retry logic meets them; hidden
 * retries act on each attempt inside it. DynamoDB's transaction-conflict rules apply to this
 * client's own requests all the time (see `transaction-conflicts.ts`), as they do in production.
 */
export function injectNetworkFaults(client: DynamoDBClient, settings: () => NetworkFaultSettings, random: () => number): NetworkFaultCounts {
  const counts: NetworkFaultCounts = { throttled: 0, dropped: 0, delayed: 0, hiddenRetries: 0, conflicts: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      const { throttleRate, dropRate, maxLatencyMs } = settings();
      if (maxLatencyMs > 0) {
        counts.delayed++;
        await new Promise((resolve) => setTimeout(resolve, random() * maxLatencyMs));
      }
      if (random() < throttleRate) {
        counts.throttled++;
        throw throttlingError();
      }
      const result = await next(args);
      if (random() < dropRate) {
        counts.dropped++;
        throw networkError();
      }
      return result;
    },
    { step: 'initialize', name: 'leaseholdFaultNetwork' },
  );
  const unanswered: string[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const id = (args.request as { headers?: Record<string, string> }).headers?.['amz-sdk-invocation-id'];
      if (id !== undefined && unanswered.includes(id)) {
        counts.throttled++;
        throw throttlingError();
      }
      if (id === undefined || random() >= settings().hiddenRetryRate) return next(args);
      await next(args);
      counts.hiddenRetries++;
      unanswered.push(id);
      if (unanswered.length > REMEMBERED_COMMANDS) unanswered.shift();
      throw networkError();
    },
    // Low priority in this step runs inside the SDK's retry middleware (high priority): per attempt.
    { step: 'finalizeRequest', priority: 'low', name: 'leaseholdFaultHiddenRetry' },
  );
  const conflicts = emulateTransactionConflicts({ foreignRate: () => settings().conflictRate, random });
  conflicts.attach(client);
  // Enumerable, so the tally still reads right once sent over IPC as JSON.
  Object.defineProperty(counts, 'conflicts', { get: () => conflicts.counts.writes + conflicts.counts.transactions, enumerable: true });
  return counts;
}

/**
 * The SDK's own retries hiding a landed write: the first HTTP attempt of the chosen operations
 * reaches DynamoDB and its answer is lost (a connection reset, which the SDK retries by itself),
 * and from then on every attempt of those operations is throttled, as a hot partition does,
 * until `heal()`. The caller sees only throttling errors, the first with `$metadata.attempts` > 1.
 * Sits inside the SDK's retry loop, so it acts on each attempt.
 */
export function landThenThrottle(
  client: DynamoDBClient,
  affect: (operation: string) => boolean,
): {
  /** How many attempts reached DynamoDB with their answer lost. */
  landed(): number;
  /** How many attempts were refused as throttled after that. */
  throttled(): number;
  /** Ends the fault: requests go through untouched from now on. */
  heal(): void;
} {
  let landed = 0;
  let throttled = 0;
  let healed = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (healed || !affect(operationOf(context))) return next(args);
      if (landed > 0) {
        throttled++;
        throw throttlingError();
      }
      await next(args);
      landed++;
      throw networkError();
    },
    // Low priority in this step runs inside the SDK's retry middleware (high priority): per attempt.
    { step: 'finalizeRequest', priority: 'low', name: 'leaseholdFaultLandThenThrottle' },
  );
  return { landed: () => landed, throttled: () => throttled, heal: () => void (healed = true) };
}
