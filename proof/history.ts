/**
 * What participants and controllers of a live run (the demo, the chaos test) record, one JSON
 * object per line. Times are ms on the machine's shared clock (`performance.timeOrigin +
 * performance.now()`), so lines from different processes compare.
 *
 * @module
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export type HistoryEvent =
  /** A worker became leader with this token. */
  | { t: number; worker: string; kind: 'elected'; token: number }
  /**
   * A worker stopped believing it leads. `t` is when its belief ended by its own clock (its
   * lease deadline, or the resign/close call), which can be earlier than when it logged this.
   */
  | { t: number; worker: string; kind: 'deposed'; token: number; reason: string }
  /**
   * A fenced write and whether the resource accepted it. It took effect somewhere between
   * `sentAt` and `t` (when the answer arrived, which a frozen process may read much later).
   */
  | { t: number; sentAt: number; worker: string; kind: 'write'; token: number; accepted: boolean }
  /** A fault the controller injected. */
  | { t: number; worker: string; kind: 'fault'; fault: 'kill' | 'stop' | 'cont' | 'resign' | string }
  /** A lease the reaper marked expired. */
  | { t: number; worker: string; kind: 'reaped'; token: number };

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
