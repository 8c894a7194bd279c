/**
 * Synth-time checks of construct props, one rule and one message each. The error names the prop
 * (`LeaseReaperProps.retryAttempts`), so a failed `cdk synth` points at the line to fix.
 *
 * @module
 */
import { Token } from 'aws-cdk-lib';
import { InvalidArgumentError } from '../core/errors.js';

/** Rejects keys a props interface does not declare (a typo in JavaScript, or a stale option). */
export function rejectUnknownProps(propsName: string, props: object, allowed: readonly string[]): void {
  for (const key of Object.keys(props)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(`${propsName}.${key}`, `unknown prop; expected one of ${allowed.join(', ')}`);
    }
  }
}

/** A whole number within [min, max]; tokens are left to CloudFormation. */
export function checkWholeNumber(prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value)) throw new InvalidArgumentError(prop, `must be a whole number, got ${value}`);
  if (value < min || value > max) throw new InvalidArgumentError(prop, `must be between ${min} and ${max}, got ${value}`);
}

/** Throws naming `prop` unless `check` holds. */
export function ensure(prop: string, check: boolean, message: string): void {
  if (!check) throw new InvalidArgumentError(prop, message);
}
