/**
 * The demo's terminal view: a live board when stdout is a terminal, plain event lines otherwise.
 */
import type { HistoryEvent } from '../proof/history.js';
import type { WorkerState } from '../cluster/cluster.js';

const time = (t: number) => new Date(t).toISOString().slice(11, 23);

export function eventLine(event: HistoryEvent): string {
  const who = event.worker.padEnd(9);
  const partition = event.partition === undefined ? '' : ` to partition ${event.partition}`;
  switch (event.kind) {
    case 'elected':
      return event.partition === undefined
        ? `${time(event.t)}  ${who} elected leader with fencing token ${event.token}`
        : `${time(event.t)}  ${who} took partition ${event.partition} with fencing token ${event.token}`;
    case 'deposed':
      return event.partition === undefined
        ? `${time(event.t)}  ${who} stopped leading (token ${event.token}): ${event.reason}`
        : `${time(event.t)}  ${who} gave up partition ${event.partition} (token ${event.token}): ${event.reason}`;
    case 'write':
      return `${time(event.t)}  ${who} fenced write${partition} with token ${event.token} ${{ accepted: 'accepted', refused: 'REFUSED (stale token)', unknown: 'sent, answer lost' }[event.outcome]}`;
    case 'fault':
      return `${time(event.t)}  ${'chaos'.padEnd(9)} ${event.fault} ${event.worker}${event.detail ? `: ${event.detail}` : ''}`;
    case 'reaped':
      return `${time(event.t)}  ${'reaper'.padEnd(9)} marked ${event.worker}'s lease (token ${event.token}) expired`;
  }
}

export class View {
  private readonly recent: string[] = [];
  /** `partitions`: group mode, where the board shows each worker's share of that many partitions. */
  constructor(
    private readonly live: boolean,
    private readonly header: () => string,
    private readonly workers: () => readonly WorkerState[],
    private readonly partitions?: number,
  ) {}

  event(event: HistoryEvent): void {
    // Writes are many and dull; the board counts them and the timeline draws them.
    if (event.kind === 'write' && event.outcome === 'accepted') return;
    // So are a group's acquisitions and handoffs, one line per partition, when they are not on a board.
    if (!this.live && this.partitions !== undefined && (event.kind === 'elected' || (event.kind === 'deposed' && event.reason === 'handedOff'))) return;
    const line = eventLine(event);
    if (!this.live) {
      console.log(line);
      return;
    }
    this.recent.push(line);
    if (this.recent.length > 12) this.recent.shift();
  }

  draw(): void {
    if (!this.live) return;
    if (this.partitions !== undefined) return this.drawGroup(this.partitions);
    const rows = this.workers().map((w) => {
      const role =
        w.condition !== 'running' ? w.condition.toUpperCase() : w.leading ? '\x1b[1;32mLEADER\x1b[0m  ' : 'follower';
      const lease = w.leading && w.condition === 'running' ? `token ${w.token}  lease ${(w.remainingMs / 1_000).toFixed(1)}s left` : '';
      return `  ${w.name.padEnd(10)} ${role.padEnd(8)}  ${lease.padEnd(32)} writes ${w.writes}`;
    });
    this.paint(rows);
  }

  /** One row per worker: its share of the partitions as a bar; then the balance. */
  private drawGroup(partitions: number): void {
    const workers = this.workers();
    const rows = workers.map((w) => {
      const state = w.condition === 'running' ? 'running ' : w.condition.toUpperCase().padEnd(8);
      const owned = w.condition === 'running' ? w.owned : 0;
      return `  ${w.name.padEnd(10)} ${state}  ${String(owned).padStart(3)} ${'#'.repeat(owned).padEnd(partitions)}  writes ${w.writes}`;
    });
    const counts = workers.filter((w) => w.condition === 'running').map((w) => w.owned);
    const owned = counts.reduce((sum, n) => sum + n, 0);
    const spread = counts.length > 0 ? Math.max(...counts) - Math.min(...counts) : 0;
    rows.push('', `  ${owned} of ${partitions} partitions owned · max − min ${spread}${owned === partitions && spread <= 1 ? ' · balanced' : ''}`);
    this.paint(rows);
  }

  private paint(rows: readonly string[]): void {
    process.stdout.write(`\x1b[H\x1b[2J${this.header()}\n\n${rows.join('\n')}\n\n  events:\n${this.recent.map((l) => `  ${l}`).join('\n')}\n`);
  }
}
