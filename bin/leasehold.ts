#!/usr/bin/env node
/**
 * `leasehold`: bad input exits 2 with one line; AWS and lease errors exit 1 with a clear
 * message, never a stack trace.
 */
import { CommanderError } from 'commander';
import { InvalidArgumentError, LeaseholdError } from '../lib/index.js';
import { buildProgram } from '../cli/program.js';

const interrupted = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
const program = buildProgram({ out: (line) => console.log(line), interrupted });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has printed its own message (or the help) already.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
  } else if (error instanceof InvalidArgumentError) {
    console.error(`leasehold: ${error.message}`);
    process.exitCode = 2;
  } else if (error instanceof LeaseholdError) {
    console.error(`leasehold: ${error.message}`);
    process.exitCode = 1;
  } else {
    const { name, message } = error as Error;
    console.error(`leasehold: ${name}: ${message}`);
    process.exitCode = 1;
  }
}
