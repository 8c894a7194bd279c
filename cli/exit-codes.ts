/**
 * The CLI's exit codes, the part of its output scripts branch on.
 *
 * @module
 */
export const ExitCode = {
  /** Done as asked. */
  ok: 0,
  /** A lease or AWS outcome: busy, lost, changed meanwhile, a missing or wrong table, a DynamoDB error. */
  outcome: 1,
  /** Bad input, refused before anything is sent. */
  badInput: 2,
} as const;
