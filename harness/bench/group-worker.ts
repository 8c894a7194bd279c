/**
 * One member of the lease group benchmarks' fleet, in its own process so the controller can
 * SIGKILL it: joins the group and reports, on the shared clock, every partition it takes and
 * loses. On `close` it leaves gracefully; on `stats` it reports its requests and CPU so far.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseClient, LeaseGroup } from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import { historyNow } from '../proof/history.js';
import { countRequests, emptyCounts } from './measure.js';

export interface GroupWorkerOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly group: string;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly skewMs: number;
  readonly id: string;
}

export type GroupWorkerMessage =
  /** It calls `run` now: it is joining. */
  | { type: 'joining'; t: number }
  | { type: 'acquired'; t: number; names: string[] }
  | { type: 'lost'; t: number; names: string[] }
  /** Its close finished: everything released. */
  | { type: 'closed'; t: number }
  | { type: 'stats'; requests: number; cpuUs: number; t: number }
  | { type: 'failed'; error: string };

export type GroupWorkerCommand = { type: 'close' } | { type: 'stats' };

const options = JSON.parse(process.argv[2]!) as GroupWorkerOptions;
const send = (message: GroupWorkerMessage) => process.send?.(message);
const counts = emptyCounts();
const client = countRequests(new DynamoDBClient(localClientConfig(options.endpoint)), counts);
const leases = new LeaseClient({ tableName: options.tableName, client, holderId: options.id, skewMs: options.skewMs });
const group = new LeaseGroup({ leases, group: options.group, names: { count: options.partitions }, leaseMs: options.leaseMs });

// A round's takes fire many events in one turn: they go out as one message, stamped at the first.
const pending = { acquired: [] as string[], lost: [] as string[], t: 0 };
function queue(kind: 'acquired' | 'lost', name: string): void {
  // A change of kind goes out first, so the controller sees them in order.
  if (pending[kind === 'acquired' ? 'lost' : 'acquired'].length > 0) flush();
  if (pending.acquired.length + pending.lost.length === 0) {
    pending.t = historyNow();
    setImmediate(flush);
  }
  pending[kind].push(name);
}
function flush(): void {
  if (pending.acquired.length > 0) send({ type: 'acquired', t: pending.t, names: pending.acquired.splice(0) });
  if (pending.lost.length > 0) send({ type: 'lost', t: pending.t, names: pending.lost.splice(0) });
}

group.on('acquired', ({ name }) => queue('acquired', name));
group.on('lost', ({ name }) => queue('lost', name));
group.on('error', () => {});
process.on('message', (command: GroupWorkerCommand) => {
  if (command.type === 'stats') {
    const cpu = process.cpuUsage();
    send({ type: 'stats', requests: counts.requests, cpuUs: cpu.user + cpu.system, t: historyNow() });
  } else if (command.type === 'close') {
    void group.close({ drainMs: 0 }).finally(() => {
      flush();
      send({ type: 'closed', t: historyNow() });
    });
  }
});

send({ type: 'joining', t: historyNow() });
try {
  await group.run(({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })));
} catch (error) {
  send({ type: 'failed', error: String(error) });
}
flush();
client.destroy();
process.disconnect?.();
