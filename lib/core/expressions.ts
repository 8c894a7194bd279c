/**
 * The lease item's expressions: its conditions, named so each write reads as a sentence, and the
 * placeholders every expression is written with, resolved from the one schema.
 *
 * @module
 */
import { LeaseAttribute as A, STORED_LEASE_STATES, type StoredLeaseState } from './schema.js';

/** Conditions, named so each write reads as a sentence. */
export const when = {
  absent: 'attribute_not_exists(#name)',
  // Only its holder (or an operator's revoke) releases a lease. A reaped one is not free: the
  // reaper judged expiry by its own clock and allowance, so it is taken by the same rule as a
  // held one, and no reaper setting can let a contender in while the holder still trusts it.
  released: '#state = :released',
  wallExpired: '#expiresAt < :staleBefore',
  // A session-owned lease's revision stands still while its session renews: its silence says
  // nothing, so only its session's expiry (see `OwnedLeaseStore`) lets anyone take it.
  unchangedSinceObserved: '(#revision = :unchangedRevision AND attribute_not_exists(#ownerSession))',
  heldByMe: '#state = :held AND #holderId = :holderId AND #fencingToken = :fencingToken',
  // A delayed retry of an older renewal must not pull the expiry back below a newer one's.
  extends: '#expiresAt <= :expiresAt',
  heldAtToken: '#state = :held AND #fencingToken = :fencingToken',
  heldAtRevision: '#state = :held AND #fencingToken = :fencingToken AND #revision = :revision',
} as const;

/** `#x` stands for the lease attribute `x`: `#state` for `state`. */
const ATTRIBUTE_NAMES: ReadonlyMap<string, string> = new Map(Object.values(A).map((attribute) => [`#${attribute}`, attribute]));

/** `:held`, `:released` and `:expired` stand for those states. */
const STATE_VALUES: ReadonlyMap<string, StoredLeaseState> = new Map(STORED_LEASE_STATES.map((state) => [`:${state}`, state]));

/** A request's expressions, under the SDK's names for them. */
interface ExpressionFields {
  readonly UpdateExpression?: string;
  readonly ConditionExpression?: string;
  readonly KeyConditionExpression?: string;
}

/** Expressions with the names and values their placeholders stand for, ready to spread into a request. */
export type ResolvedExpressions<E extends ExpressionFields> = E & {
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
};

/**
 * `expressions` with the `ExpressionAttributeNames` and `ExpressionAttributeValues` their
 * placeholders stand for: `#x` is the lease attribute `x` unless `names` says otherwise,
 * `:held`, `:released` and `:expired` are those states, and any other `:x` is `values[':x']`.
 * DynamoDB refuses a name or value that no expression uses, so only the used ones go in.
 */
export function withPlaceholders<E extends ExpressionFields>(
  expressions: E,
  values: Readonly<Record<string, unknown>>,
  names: Readonly<Record<string, string>> = {},
): ResolvedExpressions<E> {
  const used = placeholdersOf(Object.values(expressions).join(' '));
  const attributeNames: Record<string, string> = {};
  const attributeValues: Record<string, unknown> = {};
  for (const placeholder of used) {
    if (placeholder.startsWith('#')) {
      attributeNames[placeholder] = names[placeholder] ?? ATTRIBUTE_NAMES.get(placeholder) ?? unresolved(placeholder);
    } else {
      attributeValues[placeholder] = placeholder in values ? values[placeholder] : (STATE_VALUES.get(placeholder) ?? unresolved(placeholder));
    }
  }
  return { ...expressions, ExpressionAttributeNames: attributeNames, ExpressionAttributeValues: attributeValues };
}

/**
 * The placeholders of an expression text, remembered: the library writes a few dozen distinct
 * texts, and scanning each on every request was a measurable share of a request's client CPU.
 */
const PLACEHOLDERS = new Map<string, readonly string[]>();
const MAX_REMEMBERED_TEXTS = 512;

function placeholdersOf(text: string): readonly string[] {
  let found = PLACEHOLDERS.get(text);
  if (!found) {
    found = [...new Set(text.match(/[#:]\w+/g))];
    if (PLACEHOLDERS.size < MAX_REMEMBERED_TEXTS) PLACEHOLDERS.set(text, found);
  }
  return found;
}

/** A placeholder with nothing to stand for is a bug in this library, not the caller's input. */
function unresolved(placeholder: string): never {
  throw new Error(`leasehold: expression placeholder ${placeholder} stands for nothing`);
}
