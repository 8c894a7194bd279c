/**
 * What every cluster worker process shares, whichever mode it runs (one leader, or a lease group):
 * its configuration, its clock (a wall clock the controller can set off the host's), its history
 * (each event appended to its file and reported over IPC), its DynamoDB client behind its own TCP
 * proxy with the network faults the controller switches on, and the ledger writes it records.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fencedWrite, FencedWriteRejectedError, LeaseLostError, LeaseStoreError, systemClock, type Clock, type Lease, type OwnedLease } from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import { HEALTHY_NETWORK, injectNetworkFaults, type NetworkFaultCounts, type NetworkFaultSettings } from '../../lib/testing/faults.js';
import { seededRandom } from '../local/random.js';
import { startFaultProxy } from '../local/tcp-proxy.js';
import { historyNow, historyWriter, type HistoryEvent, type WriteOutcome } from '../proof/history.js';
import { appendIfNotStale, ledgerAppend, type LedgerLocation } from './ledger.js';
import type { ControllerMessage, WorkerConfig, WorkerMessage } from './messages.js';

export interface WorkerRuntime {
  readonly config: WorkerConfig;
  readonly clock: Clock;
  readonly client: DynamoDBClient;
  readonly faultsFired: NetworkFaultCounts;
  /** The network faults in force now. */
  network(): NetworkFaultSettings;
  /** Appends an event to this worker's history (stamped with its own wall clock) and tells the controller. */
  report(event: HistoryEvent): void;
  send(message: WorkerMessage): void;
  /**
   * One write to a ledger with this lease's token, recorded with what became of it (tagged with
   * `partition` in group mode). `fenced`: in a transaction that checks the lease (when the
   * backend has transactions); else guarded only by the ledger's memory of the highest token.
   * A write that never left (the lease was already lost, or the request was throttled) is not
   * a write and is not recorded.
   */
  write(lease: Lease | OwnedLease, ledger: LedgerLocation, fenced: boolean, partition?: string): Promise<void>;
  /** The pause between a holder's writes: `backToBackMs` under transaction conflicts, so its other writes meet them. */
  pause(everyMs: number, ended: Promise<void>, backToBackMs?: number): Promise<unknown>;
  /**
   * Exits once no write is in flight: one that landed after the exit would be a ledger entry no
   * history explains. The library does not wait for that: once a lease is lost, `close()`
   * and `run()` return without waiting for the callback (its last, unfenced write included).
   */
  exit(): Promise<never>;
}

/**
 * Sets the worker up from its command line and wires the controller's messages: network faults,
 * clock steps and silent cut-offs are handled here; `onControl` gets `resign` and `stop`.
 */
export async function startWorkerRuntime(onControl: (message: Extract<ControllerMessage, { type: 'resign' | 'stop' }>) => void): Promise<WorkerRuntime> {
  const config = JSON.parse(process.argv[2]!) as WorkerConfig;
  const send = (message: WorkerMessage) => void process.send?.(message);
  const random = seededRandom(config.seed);
  let wallOffsetMs = config.wallOffsetMs;
  let network: NetworkFaultSettings = HEALTHY_NETWORK;
  const clock: Clock = { ...systemClock, wallNow: () => Date.now() + wallOffsetMs, random };

  const writeHistory = historyWriter(config.historyFile);
  const report = (event: HistoryEvent) => {
    const stamped = { ...event, wall: clock.wallNow() };
    writeHistory(stamped);
    send({ type: 'event', event: stamped });
  };

  // Every request crosses this worker's own TCP proxy, so the controller can cut it off in silence.
  const proxy = await startFaultProxy(config.endpoint);
  const client = new DynamoDBClient(localClientConfig(proxy.endpoint));
  const faultsFired = injectNetworkFaults(client, () => network, random);

  process.on('message', (message: ControllerMessage) => {
    if (message.type === 'resign' || message.type === 'stop') onControl(message);
    if (message.type === 'network') network = message.settings;
    if (message.type === 'clock') wallOffsetMs = message.wallOffsetMs;
    if (message.type === 'partition') {
      if (message.cut) proxy.blackhole();
      else proxy.heal();
    }
  });

  let writes = 0;
  const inFlight = new Set<Promise<void>>();
  function write(lease: Lease | OwnedLease, ledger: LedgerLocation, fenced: boolean, partition?: string): Promise<void> {
    const writing = sendAndRecord(lease, ledger, fenced, partition);
    inFlight.add(writing);
    return writing.finally(() => inFlight.delete(writing));
  }
  async function sendAndRecord(lease: Lease | OwnedLease, ledger: LedgerLocation, fenced: boolean, partition?: string): Promise<void> {
    const id = `${config.worker}#${++writes}`;
    const token = lease.fencingToken;
    const sentAt = historyNow();
    let outcome: WriteOutcome;
    try {
      if (fenced && config.transactions) {
        await fencedWrite(lease, [{ Update: ledgerAppend(ledger, token, id) }]);
        outcome = 'accepted';
      } else {
        // Bounded like the library's own requests: a pooled connection a partition left dead would
        // otherwise hold this leader's callback, and so its elector, for minutes.
        outcome = (await appendIfNotStale(client, ledger, token, id, AbortSignal.timeout(config.leaseMs))) ? 'accepted' : 'refused';
      }
    } catch (error) {
      if (error instanceof FencedWriteRejectedError) outcome = 'refused';
      else if (error instanceof LeaseLostError) return;
      else if (error instanceof LeaseStoreError && error.outcomeUnknown) outcome = 'unknown';
      else return;
    }
    report({ t: historyNow(), sentAt, worker: config.worker, kind: 'write', id, token, outcome, ...(partition !== undefined && { partition }) });
  }

  return {
    config,
    clock,
    client,
    faultsFired,
    network: () => network,
    report,
    send,
    write,
    pause: (everyMs, ended, backToBackMs = 5) => Promise.race([delay(network.conflictRate > 0 ? backToBackMs : everyMs), ended]),
    async exit() {
      while (inFlight.size > 0) await Promise.allSettled(inFlight);
      process.exit(0);
    },
  };
}
