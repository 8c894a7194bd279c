/**
 * Argument checks, one rule and one message each. They run before anything is sent, so bad
 * input never reaches (or changes) the table.
 *
 * @module
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError } from './errors.js';
import { MAX_ITEM_BYTES, MAX_LEASE_NAME_BYTES } from './schema.js';

/** Node's timers overflow past this and fire at once, which would silently end a lease. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Room left in the item for everything but the payload (names, numbers, nonces). */
const ITEM_OVERHEAD_BYTES = 2 * 1024;

/** The largest payload that fits beside a lease's own attributes, in DynamoDB size bytes. */
export const MAX_DATA_BYTES = MAX_ITEM_BYTES - ITEM_OVERHEAD_BYTES;

export function rejectUnknownKeys(argument: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(`${argument}.${key}`, `unknown option; expected one of ${allowed.join(', ')}`);
    }
  }
}

export function checkLeaseName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new InvalidArgumentError('name', 'must be a string');
  if (name.length === 0) throw new InvalidArgumentError('name', 'must not be empty');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_LEASE_NAME_BYTES) {
    throw new InvalidArgumentError('name', `must be at most ${MAX_LEASE_NAME_BYTES} UTF-8 bytes, got ${bytes}`);
  }
  // Control characters make names unprintable in logs, events and the CLI.
  if (/\p{Cc}/u.test(name)) throw new InvalidArgumentError('name', 'must not contain control characters');
}

export function checkNonEmptyString(argument: string, value: unknown, maxLength = 255): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(argument, 'must be a non-empty string');
  }
  if (value.length > maxLength) throw new InvalidArgumentError(argument, `must be at most ${maxLength} characters`);
}

/** DynamoDB's own rule for table names, checked here so a bad one is an argument error, not a store error. */
export function checkTableName(value: unknown): asserts value is string {
  checkNonEmptyString('tableName', value);
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(value)) {
    throw new InvalidArgumentError('tableName', 'must be 3-255 characters of a-z, A-Z, 0-9, _, - and .');
  }
}

/** A duration in ms: finite, within [min, max]. `min` is inclusive unless `exclusiveMin`. */
export function checkDurationMs(
  argument: string,
  value: unknown,
  { min = 0, exclusiveMin = false, max = MAX_TIMER_MS }: { min?: number; exclusiveMin?: boolean; max?: number } = {},
): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InvalidArgumentError(argument, 'must be a number of milliseconds');
  if (!Number.isFinite(value)) throw new InvalidArgumentError(argument, 'must be finite');
  if (exclusiveMin ? value <= min : value < min) {
    throw new InvalidArgumentError(argument, `must be ${exclusiveMin ? 'greater than' : 'at least'} ${min} ms, got ${value}`);
  }
  if (value > max) throw new InvalidArgumentError(argument, `must be at most ${max} ms, got ${value}`);
}

export function checkRatio(argument: string, value: unknown, maxExclusive: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= maxExclusive) {
    throw new InvalidArgumentError(argument, `must be a number in [0, ${maxExclusive})`);
  }
}

/** A lease payload: a plain object of JSON-like values stored as a DynamoDB map. */
export function checkData(value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('data', 'must be a plain object');
  }
  let marshalled: Record<string, AttributeValue>;
  try {
    marshalled = marshall(value as Record<string, unknown>, { removeUndefinedValues: true });
  } catch (error) {
    throw new InvalidArgumentError('data', `cannot be stored in DynamoDB: ${(error as Error).message}`);
  }
  const bytes = attributeMapBytes(marshalled);
  if (bytes > MAX_DATA_BYTES) {
    throw new InvalidArgumentError('data', `is ${bytes} bytes; at most ${MAX_DATA_BYTES} fit in a lease item`);
  }
}

/** DynamoDB's item-size accounting: attribute names plus values, by its published rules. */
function attributeMapBytes(map: Record<string, AttributeValue>): number {
  let total = 0;
  for (const [key, value] of Object.entries(map)) total += Buffer.byteLength(key, 'utf8') + attributeBytes(value);
  return total;
}

function attributeBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s, 'utf8'), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + attributeBytes(v), 0);
  if (value.M !== undefined) return 3 + attributeMapBytes(value.M) + Object.keys(value.M).length;
  return 0;
}

function numberBytes(n: string): number {
  const digits = n.replace(/^-/, '').replace(/[.eE].*$/, '').replace(/^0+/, '').length || 1;
  return Math.ceil(digits / 2) + 1;
}
