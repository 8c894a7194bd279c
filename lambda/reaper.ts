/**
 * The reaper Lambda, run by an EventBridge schedule: marks expired leases expired and publishes a
 * `Lease Expired` event for each. A thin adapter over `reapExpiredLeases`. Clients use the SDK's
 * default configuration, so `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_EVENTBRIDGE` point
 * it at local servers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { eventBridgePublisher } from '../lib/serverless/events.js';
import { readReaperConfig } from '../lib/serverless/reaper-config.js';
import { REAPER_METRICS_NAMESPACE, ReaperMetric } from '../lib/serverless/reaper-metrics.js';
import { reapExpiredLeases, type ReapSummary } from '../lib/serverless/reaper.js';

/** Stop this long before the Lambda deadline: one more page of writes must fit. */
const SAFETY_MARGIN_MS = 3_000;

// Checked at cold start: a misconfigured function fails its first invocation with the reason.
const config = readReaperConfig(process.env);
// Service name from POWERTOOLS_SERVICE_NAME, which the construct sets to the table's name: each
// table's reaper writes its own metric series, so one stack's alarms never fire on another's.
const logger = new Logger();
const metrics = new Metrics({ namespace: REAPER_METRICS_NAMESPACE });
const dynamodb = new DynamoDBClient({});
const publisher = eventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: config.eventBusName });

export async function handler(event: ScheduledEvent, context: Context): Promise<ReapSummary> {
  const started = performance.now();
  logger.addContext(context);
  const summary = await reapExpiredLeases({
    client: dynamodb,
    tableName: config.tableName,
    skewMs: config.skewMs,
    // Off where the LeaseEvents function announces expiries from the stream: one event per expiry.
    publisher: config.publishEvents === false ? undefined : publisher,
    shouldStop: () => context.getRemainingTimeInMillis() < SAFETY_MARGIN_MS,
  });
  metrics.addMetric(ReaperMetric.leasesReaped, MetricUnit.Count, summary.reaped);
  metrics.addMetric(ReaperMetric.reapRaces, MetricUnit.Count, summary.raced);
  if (summary.reaped > 0) metrics.addMetric(ReaperMetric.leaderlessMs, MetricUnit.Milliseconds, summary.longestLeaderlessMs);
  metrics.addMetric(ReaperMetric.durationMs, MetricUnit.Milliseconds, performance.now() - started);
  if (summary.eventsFailed > 0) metrics.addMetric(ReaperMetric.eventsFailed, MetricUnit.Count, summary.eventsFailed);
  metrics.publishStoredMetrics();
  logger.info('reaper run', { scheduledAt: event.time, ...summary });
  return summary;
}
