/**
 * Closing an elector when the process is told to stop: ECS sends SIGTERM, waits the task's
 * `stopTimeout` (30 s by default), then SIGKILLs; Kubernetes does the same with its grace period.
 * A leader that drains and releases on SIGTERM hands over within a follower's wake-up, instead of
 * after a whole lease.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js';
import { checkDurationMs, rejectUnknownKeys } from '../core/validate.js';
import type { LeaderElector } from './leader-elector.js';

/** Options of {@link closeOnSignals}. */
export interface CloseOnSignalsOptions {
  /** The signals that close the elector. @default ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * How long `lead` may finish after its signal aborts, the lease held meanwhile (see
   * `ResignOptions.drainMs`). Keep it well inside the orchestrator's grace period.
   * @default the elector's leaseMs
   */
  readonly drainMs?: number;
  /**
   * Exit the process once the elector has closed (`process.exit()`, with `process.exitCode`).
   * Without it the process exits by itself once nothing else keeps it alive; pass `true` when
   * something does that the application will not close itself (a health-check server).
   * @default false
   */
  readonly exit?: boolean;
}

const OPTIONS = ['signals', 'drainMs', 'exit'] as const;

/**
 * On the first of `signals`, closes the elector: it stops campaigning, drains `lead`, and
 * releases the lease. It stops listening at that first signal, so a second one has its usual
 * effect (Node's default ends the process at once, as a second Ctrl-C should). A close that fails
 * (the release could not be written: the lease then lapses on its own) sets `process.exitCode`
 * to 1 and is printed as a process warning. Returns a function that stops listening. Throws
 * `InvalidArgumentError` for bad options.
 *
 *   closeOnSignals(elector, { drainMs: 5_000 });
 */
export function closeOnSignals(elector: Pick<LeaderElector, 'close'>, options: CloseOnSignalsOptions = {}): () => void {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, OPTIONS);
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(signals) || signals.length === 0 || !signals.every((signal) => typeof signal === 'string')) {
    throw new InvalidArgumentError('signals', 'must be a non-empty list of signal names');
  }
  if (options.drainMs !== undefined) checkDurationMs('drainMs', options.drainMs);
  if (options.exit !== undefined && typeof options.exit !== 'boolean') throw new InvalidArgumentError('exit', 'must be a boolean');
  const { drainMs, exit = false } = options;

  const stopListening = () => {
    for (const signal of signals) process.off(signal, closeElector);
  };
  function closeElector(): void {
    stopListening();
    elector
      .close(drainMs === undefined ? {} : { drainMs })
      .catch((error: unknown) => {
        process.exitCode = 1;
        process.emitWarning(error instanceof Error ? error : String(error));
      })
      .finally(() => {
        if (exit) process.exit();
      });
  }
  for (const signal of signals) process.on(signal, closeElector);
  return stopListening;
}
