/**
 * The demo's terminal view: a live board when stdout is a terminal, plain event lines otherwise.
 */
import type { HistoryEvent } from '../proof/history.js';
import type { WorkerState } from '../cluster/cluster.js';

const time = (t: number) => new Date(t).toISOString().slice(11, 23);

export function eventLine(event: HistoryEvent): string {
  const who = event.worker.padEnd(9);
  switch (event.kind) {
    case 'elected':
      return `${time(event.t)}  ${who} elected leader with fencing token ${event.token}`;
    case 'deposed':
      return `${time(event.t)}  ${who} stopped leading (token ${event.token}): ${event.reason}`;
    case 'write':
      return `${time(event.t)}  ${who} fenced write with token ${event.token} ${{ accepted: 'accepted', refused: 'REFUSED (stale token)', unknown: 'sent, answer lost' }[event.outcome]}`;
    case 'fault':
      return `${time(event.t)}  ${'chaos'.padEnd(9)} ${event.fault} ${event.worker}${event.detail ? `: ${event.detail}` : ''}`;
    case 'reaped':
      return `${time(event.t)}  ${'reaper'.padEnd(9)} marked ${event.worker}'s lease (token ${event.token}) expired`;
  }
}

export class View {
  private readonly recent: string[] = [];
  constructor(
    private readonly live: boolean,
    private readonly header: () => string,
    private readonly workers: () => readonly WorkerState[],
  ) {}

  event(event: HistoryEvent): void {
    // Writes are many and dull; the board counts them and the timeline draws them.
    if (event.kind === 'write' && event.outcome === 'accepted') return;
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
    const rows = this.workers().map((w) => {
      const role =
        w.condition !== 'running' ? w.condition.toUpperCase() : w.leading ? '\x1b[1;32mLEADER\x1b[0m  ' : 'follower';
      const lease = w.leading && w.condition === 'running' ? `token ${w.token}  lease ${(w.remainingMs / 1_000).toFixed(1)}s left` : '';
      return `  ${w.name.padEnd(10)} ${role.padEnd(8)}  ${lease.padEnd(32)} writes ${w.writes}`;
    });
    process.stdout.write(`\x1b[H\x1b[2J${this.header()}\n\n${rows.join('\n')}\n\n  events:\n${this.recent.map((l) => `  ${l}`).join('\n')}\n`);
  }
}
