/**
 * The reaper on a local timer, standing in for the EventBridge schedule that runs the Lambda in
 * AWS. Each lease it marks expired goes into the history instead of to an event bus.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { reapExpiredLeases } from '../../lib/serverless/index.js';
import { historyNow, type HistoryEvent } from '../proof/history.js';

export function startReaperTimer(options: {
  client: DynamoDBClient;
  tableName: string;
  skewMs: number;
  record: (event: HistoryEvent) => void;
  everyMs?: number;
}): { stop(): Promise<void> } {
  let stopped = false;
  const publisher = {
    async publish(events: readonly { holderId: string; fencingToken: number }[]) {
      for (const e of events) options.record({ t: historyNow(), worker: e.holderId, kind: 'reaped', token: e.fencingToken });
      return { failed: 0 };
    },
  };
  const loop = (async () => {
    while (!stopped) {
      await reapExpiredLeases({ client: options.client, tableName: options.tableName, skewMs: options.skewMs, publisher }).catch(
        (error: unknown) => console.error(`reaper: ${(error as Error).message}`),
      );
      await delay(options.everyMs ?? 1_000);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
