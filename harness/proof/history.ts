/**
 * What participants and controllers of a live run (the demo, the chaos test) record, one JSON
 * object per line. Times are ms on the machine's shared clock (`performance.timeOrigin +
 * performance.now()`), so lines from different processes compare.
 *
 * @module
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Fields every event may carry. */
interface Stamped {
  /** When, on the shared clock ({@link historyNow}). */
  t: number;
  /** The worker's own wall clock at that moment (it may be skewed on purpose), for reading the history. */
  wall?: number;
  /**
   * Group mode: the partition an `elected` (acquired), `deposed` (lost) or `write` event is about.
   * The checks then run per partition (`check-group.ts`).
   */
  partition?: string;
}

/** What became of a fenced write: the resource took it, refused it, or the answer was lost. */
export type WriteOutcome = 'accepted' | 'refused' | 'unknown';

export type HistoryEvent = Stamped &
  (
    /** A worker became leader with this token. */
    | { worker: string; kind: 'elected'; token: number }
    /**
     * A worker stopped believing it leads. `t` is when its belief ended by its own clock (its
     * lease deadline, or the resign/close call), which can be earlier than when it logged this.
     */
    | { worker: string; kind: 'deposed'; token: number; reason: string }
    /**
     * A fenced write, by its unique `id`. It took effect (if at all) somewhere between `sentAt`
     * and `t` (when the answer arrived, which a frozen process may read much later).
     */
    | { sentAt: number; worker: string; kind: 'write'; id: string; token: number; outcome: WriteOutcome }
    /** A fault the controller injected, on this worker; `detail` says how much of it. */
    | { worker: string; kind: 'fault'; fault: 'kill' | 'stop' | 'cont' | 'resign' | string; detail?: string }
    /** A lease the reaper marked expired. */
    | { worker: string; kind: 'reaped'; token: number }
  );

/** The shared clock all history times use. */
export function historyNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Appends events to a JSON-lines file; synchronous so a SIGKILL loses at most the line in flight. */
export function historyWriter(file: string): (event: HistoryEvent) => void {
  return (event) => appendFileSync(file, `${JSON.stringify(event)}\n`);
}

export function readHistory(files: readonly string[]): HistoryEvent[] {
  return files
    .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HistoryEvent)
    .sort((a, b) => a.t - b.t);
}
