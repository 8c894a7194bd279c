/**
 * One participant of the semaphore failover benchmark, in its own process so the controller can
 * SIGKILL it: takes a slot of a semaphore (or, for the baseline, one named mutex), reports on the
 * shared clock when it holds it and how many requests its wait cost, then renews every lease / 3
 * until killed.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseClient, Semaphore, type Lease } from '../../lib/index.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import { historyNow } from '../proof/history.js';
import { countRequests, emptyCounts } from './measure.js';

/** Who to be: a waiter on any slot of `name` (limit `limit`), or on the one mutex `name`. */
export interface SemaphoreWorkerOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly id: string;
  readonly name: string;
  /** A semaphore of this limit; `undefined` for one plain mutex of `name`. */
  readonly limit: number | undefined;
  readonly leaseMs: number;
  readonly skewMs: number;
}

export type SemaphoreWorkerMessage =
  /** Its first look found nothing free: it is waiting now. */
  | { type: 'waiting' }
  /** It holds `slot` since `t`, after `requests` requests over `waitedMs` of waiting. */
  | { type: 'holding'; t: number; slot: string; requests: number; waitedMs: number };

const options = JSON.parse(process.argv[2]!) as SemaphoreWorkerOptions;
const send = (message: SemaphoreWorkerMessage) => process.send?.(message);
const counts = emptyCounts();
const client = countRequests(new DynamoDBClient(localClientConfig(options.endpoint)), counts);
const leases = new LeaseClient({ tableName: options.tableName, client, holderId: options.id, skewMs: options.skewMs });
const semaphore = options.limit === undefined ? undefined : new Semaphore({ leases, name: options.name, limit: options.limit });
const acquire = { leaseMs: options.leaseMs };
const wait = { ...acquire, waitMs: 10 * 60_000 };

const started = historyNow();
let lease: Lease | undefined = semaphore ? await semaphore.tryAcquire(acquire) : await leases.tryAcquire(options.name, acquire);
if (!lease) {
  send({ type: 'waiting' });
  lease = semaphore ? await semaphore.acquire(wait) : await leases.acquire(options.name, wait);
}
const t = historyNow();
send({ type: 'holding', t, slot: lease.name, requests: counts.requests, waitedMs: t - started });
for (;;) {
  await delay(options.leaseMs / 3);
  await lease.renew();
}
