import type { NetworkFaultCounts, NetworkFaultSettings } from '../../lib/testing/faults.js';
import type { HistoryEvent } from '../proof/history.js';

/** Worker → controller, over the child-process IPC channel. */
export type WorkerMessage =
  | { type: 'event'; event: HistoryEvent }
  /** Sent a few times a second: what the worker believes right now. */
  | { type: 'status'; leading: boolean; token: number | undefined; remainingMs: number; faults: NetworkFaultCounts; owned?: number };

/** Controller → worker. */
export type ControllerMessage =
  | { type: 'resign' }
  | { type: 'stop' }
  /** From now on, meet these network faults on every DynamoDB request (all zero: none). */
  | { type: 'network'; settings: NetworkFaultSettings }
  /** From now on, read the wall clock this far off the host's (within the skew allowance). */
  | { type: 'clock'; wallOffsetMs: number }
  /** Drop every byte to and from DynamoDB in silence (`cut`), or forward again. */
  | { type: 'partition'; cut: boolean };

/** What every worker is started with (as one JSON argument). */
export interface WorkerConfig {
  readonly endpoint: string;
  readonly tableName: string;
  readonly leaseName: string;
  readonly ledgerName: string;
  readonly worker: string;
  readonly leaseMs: number;
  readonly skewMs: number;
  /** Whether the backend has transactions: fenced writes use them, else the ledger's own token check. */
  readonly transactions: boolean;
  /** The worker appends its own history here, one JSON event a line. */
  readonly historyFile: string;
  /** Seeds the worker's randomness (jitter, and which requests meet a fault). */
  readonly seed: number;
  /** How far off the host's wall clock this worker's starts. */
  readonly wallOffsetMs: number;
  /** Group mode: the worker runs a `LeaseGroup` over these partitions instead of one elector. */
  readonly group?: GroupSettings;
}

/** A lease group the workers share (group mode of the demo and the chaos run). */
export interface GroupSettings {
  /** The group's name. */
  readonly name: string;
  /** Partitions `"0"` to `"partitions-1"`. */
  readonly partitions: number;
  /** Time between one partition's ledger writes while it is owned. */
  readonly writeEveryMs: number;
}

/** Partition `name`'s ledger: its own item, beside the leases (`<ledgerName>#<name>`). */
export const partitionLedgerName = (ledgerName: string, partition: string) => `${ledgerName}#${partition}`;
