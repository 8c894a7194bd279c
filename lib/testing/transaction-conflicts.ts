/**
 * DynamoDB's transaction conflicts, which DynamoDB Local never raises, emulated by AWS's documented
 * rules over the requests that really go to the server (the writes themselves still land or not
 * on the real DynamoDB):
 *
 * - a single-item write (`PutItem`, `UpdateItem`, `DeleteItem`) on an item that an ongoing
 *   `TransactWriteItems` includes (a `ConditionCheck` too) fails with
 *   `TransactionConflictException` (HTTP 400), and nothing is written;
 * - a `TransactWriteItems` that includes an item with an ongoing write or transaction is
 *   cancelled: `TransactionCanceledException` with reason `TransactionConflict` for that item
 *   and `None` for the others, and nothing is written.
 *
 * "Ongoing" is what this process sees: from the moment a request is built until its answer is
 * back, every SDK retry included. That is wider than the server's own window, so conflicts come
 * more often here than in production, never less. Conflicts with other processes' transactions,
 * which one process cannot see, are drawn at `foreignRate`.
 *
 * @module
 */
import { TransactionCanceledException, TransactionConflictException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Options of {@link emulateTransactionConflicts}. */
export interface TransactionConflictOptions {
  /** Key attribute names of every table the clients write to. @default ['name'], the lease table's */
  readonly keyAttributes?: readonly string[];
  /** Chance, per write, of meeting another process's transaction on one of its items. @default 0 */
  readonly foreignRate?: () => number;
  /** Draws for `foreignRate`. @default Math.random */
  readonly random?: () => number;
}

/** Tallies of the conflicts raised. */
export interface TransactionConflictCounts {
  /** Single-item writes refused with `TransactionConflictException`. */
  writes: number;
  /** Transactions cancelled with a `TransactionConflict` reason. */
  transactions: number;
}

/** The emulation shared by a set of clients: attach every client whose requests can meet. */
export interface TransactionConflicts {
  /** Applies the rules to this client's requests too (once, however often it is attached). */
  attach(client: DynamoDBClient): void;
  /** The conflicts raised so far, over every attached client. */
  readonly counts: TransactionConflictCounts;
}

type Body = Record<string, unknown> & { TableName?: string; Key?: object; Item?: Record<string, unknown> };
const SINGLE_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const metadata = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };

/** The serialized request body: the SDK builds it as bytes or as text. */
function bodyText(body: unknown): string {
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return typeof body === 'string' ? body : '{}';
}

/**
 * Starts an emulation of DynamoDB's transaction-conflict rules (see the module comment); attach
 * every client that writes the same tables, so their requests can meet as they would in AWS.
 */
export function emulateTransactionConflicts(options: TransactionConflictOptions = {}): TransactionConflicts {
  const keyAttributes = options.keyAttributes ?? ['name'];
  const foreignRate = options.foreignRate ?? (() => 0);
  const random = options.random ?? Math.random;
  const counts: TransactionConflictCounts = { writes: 0, transactions: 0 };
  const inTransaction = new Map<string, number>();
  const beingWritten = new Map<string, number>();

  const keyOf = (action: Body): string => {
    const key = action.Key ?? Object.fromEntries(keyAttributes.map((attribute) => [attribute, action.Item?.[attribute]]));
    const sorted = Object.entries(key).sort(([a], [b]) => a.localeCompare(b));
    return `${action.TableName}\u0000${JSON.stringify(sorted)}`;
  };
  const enter = (map: Map<string, number>, keys: string[]) => keys.forEach((key) => map.set(key, (map.get(key) ?? 0) + 1));
  const leave = (map: Map<string, number>, keys: string[]) =>
    keys.forEach((key) => {
      const left = (map.get(key) ?? 1) - 1;
      if (left === 0) map.delete(key);
      else map.set(key, left);
    });

  const attached = new WeakSet<DynamoDBClient>();
  const attach = (client: DynamoDBClient) => {
    if (attached.has(client)) return;
    attached.add(client);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const isTransaction = operation === 'TransactWriteItems';
        if (!isTransaction && !SINGLE_WRITES.has(operation)) return next(args);
        const body = JSON.parse(bodyText((args.request as { body?: unknown }).body)) as Body & {
          TransactItems?: Record<string, Body>[];
        };
        const actions = isTransaction ? (body.TransactItems ?? []).map((item) => Object.values(item)[0]!) : [body];
        const keys = actions.map(keyOf);
        const foreign = random() < foreignRate();
        if (isTransaction) {
          const conflicting = keys.map((key) => inTransaction.has(key) || beingWritten.has(key));
          if (foreign) conflicting[Math.floor(random() * conflicting.length)] = true;
          if (conflicting.some(Boolean)) {
            counts.transactions++;
            const reasons = conflicting.map((conflict) =>
              conflict ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' },
            );
            throw new TransactionCanceledException({
              message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}] (emulated)`,
              $metadata: { ...metadata },
              CancellationReasons: reasons,
            });
          }
        } else if (foreign || inTransaction.has(keys[0]!)) {
          counts.writes++;
          throw new TransactionConflictException({
            message: 'Transaction is ongoing for the item (emulated)',
            $metadata: { ...metadata },
          });
        }
        const map = isTransaction ? inTransaction : beingWritten;
        enter(map, keys);
        try {
          return await next(args);
        } finally {
          leave(map, keys);
        }
      },
      { step: 'build', name: 'leaseholdEmulateTransactionConflicts' },
    );
  };
  return { attach, counts };
}
