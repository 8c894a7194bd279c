/**
 * The controller's side of a live cluster (the demo and the chaos run): starts worker processes,
 * keeps what each one last said, injects faults into them, records the controller's own events,
 * and stops everything at the end, frozen workers included.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkFaultCounts, NetworkFaultSettings } from '../../lib/testing/faults.js';
import { historyNow, historyWriter, type HistoryEvent } from '../proof/history.js';
import type { ControllerMessage, GroupSettings, WorkerConfig, WorkerMessage } from './messages.js';

/** What the controller knows of one worker. */
export interface WorkerState {
  readonly name: string;
  pid: number | undefined;
  condition: 'running' | 'stopped' | 'killed' | 'exited';
  leading: boolean;
  token: number | undefined;
  remainingMs: number;
  writes: number;
  /** Group mode: how many partitions it owns, as it last reported. */
  owned: number;
  /** Network faults that fired in this worker, as it last reported. */
  faults: NetworkFaultCounts;
}

export interface ClusterOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly leaseName: string;
  readonly ledgerName: string;
  readonly leaseMs: number;
  readonly skewMs: number;
  readonly transactions: boolean;
  /** Histories go to `<out>/history/`: one file per worker, one for the controller. */
  readonly out: string;
  /** Seeds each worker's randomness (worker i gets seed + i). */
  readonly seed: number;
  /** Group mode: every worker runs a `LeaseGroup` over these partitions (`group-worker.ts`). */
  readonly group?: GroupSettings;
  /** Every event, from any worker or the controller, as it happens. */
  readonly onEvent?: (event: HistoryEvent) => void;
}

export class Cluster {
  readonly workers: WorkerState[] = [];
  private readonly children = new Map<string, ChildProcess>();
  private readonly historyDir: string;
  private readonly writeControllerHistory: (event: HistoryEvent) => void;

  constructor(private readonly options: ClusterOptions) {
    this.historyDir = join(options.out, 'history');
    mkdirSync(this.historyDir, { recursive: true });
    this.writeControllerHistory = historyWriter(join(this.historyDir, 'controller.jsonl'));
  }

  /** The history files written so far, for the checker. */
  historyFiles(): string[] {
    return readdirSync(this.historyDir).map((file) => join(this.historyDir, file));
  }

  /** Records a controller event (a fault, a reaped lease). */
  record(event: HistoryEvent): void {
    this.writeControllerHistory(event);
    this.options.onEvent?.(event);
  }

  startWorker(wallOffsetMs = 0): WorkerState {
    const name = `worker-${this.workers.length + 1}`;
    const { endpoint, tableName, leaseName, ledgerName, leaseMs, skewMs, transactions, seed, group } = this.options;
    const config: WorkerConfig = {
      endpoint,
      tableName,
      leaseName,
      ledgerName,
      worker: name,
      leaseMs,
      skewMs,
      transactions,
      historyFile: join(this.historyDir, `${name}.jsonl`),
      seed: seed + this.workers.length + 1,
      wallOffsetMs,
      ...(group && { group }),
    };
    const program = join(import.meta.dirname, group ? 'group-worker.ts' : 'worker.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', program, JSON.stringify(config)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const state: WorkerState = { name, pid: child.pid, condition: 'running', leading: false, token: undefined, remainingMs: 0, writes: 0, owned: 0, faults: { throttled: 0, dropped: 0, delayed: 0, hiddenRetries: 0, conflicts: 0 } };
    this.workers.push(state);
    this.children.set(name, child);
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'event') {
        this.options.onEvent?.(message.event);
        if (message.event.kind === 'write' && message.event.outcome === 'accepted') state.writes++;
      } else {
        Object.assign(state, { leading: message.leading, token: message.token, remainingMs: message.remainingMs, faults: message.faults, owned: message.owned ?? 0 });
      }
    });
    child.on('exit', () => {
      if (state.condition === 'running') state.condition = 'exited';
      state.leading = false;
      state.owned = 0;
    });
    return state;
  }

  /**
   * A worker joins the running cluster (a replacement after a kill, or one more). In group mode
   * the join is recorded, as the event the group rebalances after.
   */
  join(wallOffsetMs = 0): WorkerState {
    if (this.options.group) this.record({ t: historyNow(), worker: `worker-${this.workers.length + 1}`, kind: 'fault', fault: 'join' });
    return this.startWorker(wallOffsetMs);
  }

  /**
   * The worker that says it leads and is not frozen, if any. In group mode: the running worker
   * owning the most partitions, once every partition is owned by a running worker (a fault is
   * over when the group has recovered from it).
   */
  leader(): WorkerState | undefined {
    const running = this.running();
    const { group } = this.options;
    if (!group) return running.find((w) => w.leading);
    if (running.reduce((sum, w) => sum + w.owned, 0) < group.partitions) return undefined;
    return running.reduce<WorkerState | undefined>((most, w) => (w.owned > (most?.owned ?? 0) ? w : most), undefined);
  }

  running(): WorkerState[] {
    return this.workers.filter((w) => w.condition === 'running');
  }

  kill(worker: WorkerState): void {
    this.fault(worker, 'kill');
    this.children.get(worker.name)!.kill('SIGKILL');
    worker.condition = 'killed';
    worker.leading = false;
    worker.owned = 0;
  }

  /** SIGSTOP: the process freezes mid-whatever, its timers and sockets with it. */
  freeze(worker: WorkerState): void {
    this.fault(worker, 'stop');
    this.children.get(worker.name)!.kill('SIGSTOP');
    worker.condition = 'stopped';
  }

  thaw(worker: WorkerState): void {
    if (worker.condition !== 'stopped') return;
    this.fault(worker, 'cont');
    worker.condition = 'running';
    this.children.get(worker.name)!.kill('SIGCONT');
  }

  resign(worker: WorkerState): void {
    this.fault(worker, 'resign');
    this.tell(worker, { type: 'resign' });
  }

  network(worker: WorkerState, settings: NetworkFaultSettings, detail: string): void {
    this.fault(worker, 'network', detail);
    this.tell(worker, { type: 'network', settings });
  }

  /**
   * Cuts these workers off from DynamoDB in silence (no reset, no FIN: a NAT or load balancer
   * that forgot their connections), or heals them. Cutting off every running worker is recorded
   * once more, on `all`, so the checker can judge the leaderless spell from the heal.
   */
  partition(workers: readonly WorkerState[], cut: boolean, detail: string): void {
    const everyone = workers.length === this.running().length;
    for (const worker of workers) {
      this.fault(worker, cut ? 'partition' : 'heal', detail);
      this.tell(worker, { type: 'partition', cut });
    }
    if (everyone) this.record({ t: historyNow(), worker: 'all', kind: 'fault', fault: cut ? 'partition' : 'heal', detail });
  }

  clock(worker: WorkerState, wallOffsetMs: number): void {
    this.fault(worker, 'clock', `wall clock ${wallOffsetMs >= 0 ? '+' : ''}${wallOffsetMs.toFixed(0)} ms`);
    this.tell(worker, { type: 'clock', wallOffsetMs });
  }

  /** Thaws and stops every worker that is still alive; one that does not exit in 5 s is killed. */
  async shutdown(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        const child = this.children.get(worker.name)!;
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGCONT');
        const exited = new Promise((resolve) => child.once('exit', resolve));
        this.tell(worker, { type: 'stop' });
        const timeout = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timeout);
        worker.leading = false;
      }),
    );
  }

  private fault(worker: WorkerState, fault: string, detail?: string): void {
    this.record({ t: historyNow(), worker: worker.name, kind: 'fault', fault, ...(detail !== undefined && { detail }) });
  }

  /** A worker can exit between a check and a send: a closed channel is not the controller's crash. */
  private tell(worker: WorkerState, message: ControllerMessage): void {
    const child = this.children.get(worker.name)!;
    if (child.connected) child.send(message, () => {});
  }
}
