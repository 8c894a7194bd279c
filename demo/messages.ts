import type { HistoryEvent } from '../proof/history.js';

/** Worker → controller, over the child-process IPC channel. */
export type WorkerMessage =
  | { type: 'event'; event: HistoryEvent }
  /** Sent a few times a second: what the worker believes right now. */
  | { type: 'status'; leading: boolean; token: number | undefined; remainingMs: number };

/** Controller → worker. */
export type ControllerMessage = { type: 'resign' } | { type: 'stop' };

/** What every worker is started with (as one JSON argument). */
export interface WorkerConfig {
  readonly endpoint: string;
  readonly tableName: string;
  readonly leaseName: string;
  readonly ledgerName: string;
  readonly worker: string;
  readonly leaseMs: number;
  readonly skewMs: number;
  /** Whether the backend has transactions: fenced writes use them, else a token condition. */
  readonly transactions: boolean;
}
