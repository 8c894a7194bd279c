/**
 * The lease item's expressions: its conditions, named so each write reads as a sentence, and the
 * placeholders every expression is written with, resolved from the one schema.
 *
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr } from '@aws-sdk/util-dynamodb';
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
  // The reaper's rule is a contender's: still held at the token it read, and past the expiry by
  // its clock and allowance now, at the write. A renewal that lands first moves the expiry past
  // the cutoff and wins.
  heldAtTokenAndExpired: '#state = :held AND #fencingToken = :fencingToken AND #expiresAt < :staleBefore',
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
 * Values stay native, for the document client (`@aws-sdk/lib-dynamodb`).
 */
export function withPlaceholders<E extends ExpressionFields>(
  expressions: E,
  values: Readonly<Record<string, unknown>>,
  names: Readonly<Record<string, string>> = {},
): ResolvedExpressions<E> {
  return resolve(expressions, values, names, (value) => value);
}

/**
 * {@link withPlaceholders} with the values as DynamoDB `AttributeValue`s, for requests sent
 * with the low-level client: the lease's own writes and reads, which skip the document client's
 * conversion of every request and answer (a measured share of their client CPU).
 */
export function withAttributeValues<E extends ExpressionFields>(
  expressions: E,
  values: Readonly<Record<string, unknown>>,
  names: Readonly<Record<string, string>> = {},
): ResolvedExpressions<E> & { readonly ExpressionAttributeValues: Record<string, AttributeValue> } {
  return resolve(expressions, values, names, toAttributeValue);
}

/**
 * A value as DynamoDB stores it. The library's general conversion inspects each value's
 * constructor; the lease's own values are strings and whole numbers, converted here directly.
 */
function toAttributeValue(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (Number.isSafeInteger(value)) return { N: String(value) };
  return convertToAttr(value, { removeUndefinedValues: true });
}

function resolve<E extends ExpressionFields, V>(
  expressions: E,
  values: Readonly<Record<string, unknown>>,
  names: Readonly<Record<string, string>>,
  convert: (value: unknown) => V,
): ResolvedExpressions<E> & { readonly ExpressionAttributeValues: Record<string, V> } {
  const template = templateOf(expressions);
  let attributeNames = template.names;
  if (attributeNames === undefined || Object.keys(names).length > 0) {
    attributeNames = {};
    for (const placeholder of template.nameKeys) attributeNames[placeholder] = names[placeholder] ?? ATTRIBUTE_NAMES.get(placeholder) ?? unresolved(placeholder);
  }
  const attributeValues: Record<string, V> = {};
  for (const placeholder of template.valueKeys) {
    const value = values[placeholder] ?? STATE_VALUES.get(placeholder);
    attributeValues[placeholder] = convert(value ?? unresolved(placeholder));
  }
  return { ...expressions, ExpressionAttributeNames: attributeNames, ExpressionAttributeValues: attributeValues };
}

/** What an expression text needs resolved: its placeholders, and its names when all are lease attributes. */
interface Template {
  readonly nameKeys: readonly string[];
  readonly valueKeys: readonly string[];
  /** Shared by every request with this text: requests are sent, never changed. */
  readonly names: Record<string, string> | undefined;
}

/**
 * Templates of expression texts, remembered: the library writes a few dozen distinct texts, and
 * scanning each on every request was a measurable share of a request's client CPU.
 */
const TEMPLATES = new Map<string, Template>();
const MAX_REMEMBERED_TEXTS = 512;

function templateOf(expressions: ExpressionFields): Template {
  const text = `${expressions.UpdateExpression ?? ''} ${expressions.ConditionExpression ?? ''} ${expressions.KeyConditionExpression ?? ''}`;
  let template = TEMPLATES.get(text);
  if (!template) {
    const used = [...new Set(text.match(/[#:]\w+/g))];
    const nameKeys = used.filter((placeholder) => placeholder.startsWith('#'));
    const known = nameKeys.every((placeholder) => ATTRIBUTE_NAMES.has(placeholder));
    template = {
      nameKeys,
      valueKeys: used.filter((placeholder) => placeholder.startsWith(':')),
      names: known ? Object.fromEntries(nameKeys.map((placeholder) => [placeholder, ATTRIBUTE_NAMES.get(placeholder)!])) : undefined,
    };
    if (TEMPLATES.size < MAX_REMEMBERED_TEXTS) TEMPLATES.set(text, template);
  }
  return template;
}

/** A placeholder with nothing to stand for is a bug in this library, not the caller's input. */
function unresolved(placeholder: string): never {
  throw new Error(`leasehold: expression placeholder ${placeholder} stands for nothing`);
}
