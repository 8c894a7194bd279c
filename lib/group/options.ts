/**
 * A lease group member's options: what each means, their defaults, and the checks that turn bad
 * input into a typed error before anything is written.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { LeaseClient } from '../core/lease-client.js';
import { MAX_DATA_BYTES, checkDurationMs, rejectUnknownKeys } from '../core/validate.js';
import { checkGroupName, checkPartitionName, checkSessionId } from '../session/names.js';

/** Options of {@link LeaseGroup}. */
export interface LeaseGroupOptions {
  /** The lease client whose table, clock, holder id and allowances the group's session uses. */
  readonly leases: LeaseClient;
  /** The group's name: its members find each other by it, and its items start with `<group>#`. */
  readonly group: string;
  /** The partitions: names, or `{ count: N }` for `"0"` to `"N-1"`. Every member must be given the same. */
  readonly names: readonly string[] | PartitionCount;
  /** The session's lease, in ms: a crashed member's partitions are taken about `leaseMs + skewMs` after its last renewal. @default 10000 */
  readonly leaseMs?: number;
  /** This member's relative capacity (> 0): weight 2 gets about twice the partitions of weight 1. @default 1 */
  readonly weight?: number;
  /** The session id (stable ids make the CLI's view readable). @default a random id per session */
  readonly id?: string;
  /** The most partitions this member asks others to hand over at once, so a new member causes no stampede. @default 32 */
  readonly maxHandoffsInFlight?: number;
  /** The most partitions this member takes in one round. @default 200 */
  readonly maxTakesPerRound?: number;
  /** Time between rounds while the group is not balanced, in ms. @default a quarter of `leaseMs` */
  readonly busyRoundMs?: number;
  /** The longest time between rounds of a balanced group, in ms; a round also runs as soon as a member can first be judged dead. @default `leaseMs` */
  readonly idleRoundMs?: number;
  /** How long a partition's work may finish after it is asked to stop (handoff, close) before the partition is released anyway. @default `leaseMs` */
  readonly drainMs?: number;
}

/** A group of `count` partitions named `"0"` to `"count-1"`. */
export interface PartitionCount {
  /** How many partitions, 1 to {@link MAX_GROUP_PARTITIONS}. */
  readonly count: number;
}

/** The most partitions a group may have. */
export const MAX_GROUP_PARTITIONS = 100_000;

const OPTIONS = [
  'leases',
  'group',
  'names',
  'leaseMs',
  'weight',
  'id',
  'maxHandoffsInFlight',
  'maxTakesPerRound',
  'busyRoundMs',
  'idleRoundMs',
  'drainMs',
] as const;


/** Options with their defaults filled in and checked. @internal */
export interface ResolvedGroupOptions {
  readonly leases: LeaseClient;
  readonly group: string;
  readonly names: readonly string[];
  readonly id: string | undefined;
  readonly leaseMs: number;
  readonly weight: number;
  readonly maxHandoffsInFlight: number;
  readonly maxTakesPerRound: number;
  readonly busyRoundMs: number;
  readonly idleRoundMs: number;
  readonly drainMs: number;
}

/** Checks `options` and fills in the defaults; throws {@link InvalidArgumentError} for bad input. @internal */
export function resolveGroupOptions(options: LeaseGroupOptions): ResolvedGroupOptions {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, OPTIONS);
  if (typeof options.leases?.tryAcquire !== 'function') throw new InvalidArgumentError('leases', 'must be a LeaseClient');
  checkGroupName('group', options.group);
  const names = checkNames(options.group, options.names);
  if (options.id !== undefined) checkSessionId('id', options.id);
  const leaseMs = options.leaseMs ?? 10_000;
  checkDurationMs('leaseMs', leaseMs, { min: 100 });
  const weight = options.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) throw new InvalidArgumentError('weight', `must be a finite number > 0, got ${String(weight)}`);
  const busyRoundMs = options.busyRoundMs ?? leaseMs / 4;
  checkDurationMs('busyRoundMs', busyRoundMs, { min: 10 });
  const idleRoundMs = options.idleRoundMs ?? leaseMs;
  checkDurationMs('idleRoundMs', idleRoundMs, { min: 10 });
  const drainMs = options.drainMs ?? leaseMs;
  checkDurationMs('drainMs', drainMs);
  return {
    leases: options.leases,
    group: options.group,
    names,
    id: options.id,
    leaseMs,
    weight,
    maxHandoffsInFlight: checkCount('maxHandoffsInFlight', options.maxHandoffsInFlight ?? 32),
    maxTakesPerRound: checkCount('maxTakesPerRound', options.maxTakesPerRound ?? 200),
    busyRoundMs,
    idleRoundMs,
    drainMs,
  };
}

function checkNames(group: string, names: unknown): string[] {
  let list: string[];
  if (Array.isArray(names)) {
    list = names.map((name, index) => {
      checkPartitionName(`names[${index}]`, group, name);
      return name;
    });
    const seen = new Set<string>();
    for (const name of list) {
      if (seen.has(name)) throw new InvalidArgumentError('names', `lists "${name}" twice`);
      seen.add(name);
    }
  } else if (names !== null && typeof names === 'object' && 'count' in names) {
    const count = (names as { count: unknown }).count;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_GROUP_PARTITIONS) {
      throw new InvalidArgumentError('names.count', `must be a whole number from 1 to ${MAX_GROUP_PARTITIONS}, got ${String(count)}`);
    }
    list = Array.from({ length: count }, (_, index) => String(index));
  } else {
    throw new InvalidArgumentError('names', 'must be a list of partition names or { count: N }');
  }
  if (list.length === 0) throw new InvalidArgumentError('names', 'must not be empty: a group needs at least one partition');
  if (list.length > MAX_GROUP_PARTITIONS) throw new InvalidArgumentError('names', `must have at most ${MAX_GROUP_PARTITIONS} partitions`);
  // A member alone owns every partition and publishes every name in its session item.
  const bytes = list.reduce((sum, name) => sum + Buffer.byteLength(name, 'utf8') + 3, 100);
  if (bytes > MAX_DATA_BYTES) throw new InvalidArgumentError('names', `take ${bytes} bytes published; at most ${MAX_DATA_BYTES} fit in a session item`);
  return list;
}

function checkCount(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new InvalidArgumentError(argument, `must be a whole number >= 1, got ${String(value)}`);
  return value;
}

