/**
 * How sessions and a group's partitions are named in the lease table. Every item of a group
 * starts with `<group>#`, so IAM can scope a fleet to its group with `dynamodb:LeadingKeys`.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js';
import { checkLeaseName, checkNonEmptyString } from '../core/validate.js';

/** Longest group name, in characters: short enough to leave room for session ids and partition names. */
export const MAX_GROUP_NAME_LENGTH = 64;

/** Longest session id, in characters. */
export const MAX_SESSION_ID_LENGTH = 128;

/** The lease name of session `id` of `group`. */
export function sessionLeaseName(group: string, id: string): string {
  return `${group}#session#${id}`;
}

/** The lease name of partition `partition` of `group`. */
export function partitionLeaseName(group: string, partition: string): string {
  return `${group}#partition#${partition}`;
}

/** A group name: non-empty, without `#` (the separator) or control characters. */
export function checkGroupName(argument: string, group: unknown): asserts group is string {
  checkNonEmptyString(argument, group, MAX_GROUP_NAME_LENGTH);
  if (group.includes('#')) throw new InvalidArgumentError(argument, 'must not contain "#"');
  if (/\p{Cc}/u.test(group)) throw new InvalidArgumentError(argument, 'must not contain control characters');
}

/** A session id: non-empty, without control characters. */
export function checkSessionId(argument: string, id: unknown): asserts id is string {
  checkNonEmptyString(argument, id, MAX_SESSION_ID_LENGTH);
  if (/\p{Cc}/u.test(id)) throw new InvalidArgumentError(argument, 'must not contain control characters');
}

/** A partition name of `group`: its lease name must be a valid lease name. */
export function checkPartitionName(argument: string, group: string, partition: unknown): asserts partition is string {
  if (typeof partition !== 'string' || partition.length === 0) throw new InvalidArgumentError(argument, 'must be a non-empty string');
  try {
    checkLeaseName(partitionLeaseName(group, partition));
  } catch (error) {
    throw new InvalidArgumentError(argument, `"${partition.slice(0, 40)}" makes a bad lease name: ${(error as Error).message}`);
  }
}
