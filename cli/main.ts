/**
 * Runs the `leasehold` program and reports failures as one line on stderr, never a stack trace,
 * with the exit codes of `exit-codes.ts`.
 *
 * @module
 */
import { CommanderError } from 'commander';
import { InvalidArgumentError, LeaseholdError, TableNotFoundError } from '../lib/index.js';
import { ExitCode } from './exit-codes.js';
import type { GlobalOptions } from './context.js';
import { buildProgram } from './program.js';

export async function main(argv: readonly string[]): Promise<void> {
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const program = buildProgram({ out: (line) => console.log(line), interrupted });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = report(error, program.opts<GlobalOptions>());
  }
}

/** Prints what went wrong and returns the exit code. */
function report(error: unknown, options: GlobalOptions): number {
  if (error instanceof CommanderError) {
    // commander has printed its own message (or the help) already.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? ExitCode.ok : ExitCode.badInput;
  }
  console.error(`leasehold: ${describe(error, options)}`);
  return error instanceof InvalidArgumentError ? ExitCode.badInput : ExitCode.outcome;
}

function describe(error: unknown, options: GlobalOptions): string {
  if (error instanceof TableNotFoundError) return tableNotFound(error.tableName, options);
  if (error instanceof LeaseholdError) return error.message;
  const { name, message } = error as Error;
  return `${name}: ${message}`;
}

/** The library's message names its own API; a CLI user wants the command to run, as typed. */
function tableNotFound(table: string, { endpoint, region }: GlobalOptions): string {
  const where = [endpoint && `--endpoint ${endpoint}`, region && `--region ${region}`].filter(Boolean);
  const create = ['leasehold', ...where, `--table ${table}`, 'create-table'].join(' ');
  return `Lease table "${table}" was not found. Create it with \`${create}\`, or check --region and --endpoint.`;
}
