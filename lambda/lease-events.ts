/**
 * The lease events Lambda, run by the lease table's stream (an event source mapping with
 * `ReportBatchItemFailures` and one batch per shard at a time): publishes `Lease Acquired`,
 * `Lease Released` and `Lease Expired` for each change of leadership, in order, and names the
 * first event it could not publish as the batch item failure, so Lambda resends from there. A thin
 * adapter over `publishLeaseEvents`. The client uses the SDK's default configuration, so
 * `AWS_ENDPOINT_URL_EVENTBRIDGE` points it at a local server.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { eventBridgePublisher } from '../lib/serverless/events.js';
import { readLeaseEventsConfig, STOP_BEFORE_DEADLINE_MS } from '../lib/serverless/lease-events-config.js';
import { LeaseEventsMetric } from '../lib/serverless/lease-events-metrics.js';
import { publishLeaseEvents } from '../lib/serverless/lease-events.js';
import { REAPER_METRICS_NAMESPACE } from '../lib/serverless/reaper-metrics.js';

/**
 * Each PutEvents call is abandoned after this long and sent again (the SDK sets no deadline of its
 * own): three of them fit in STOP_BEFORE_DEADLINE_MS.
 */
const REQUEST_TIMEOUT_MS = 2_000;

const config = readLeaseEventsConfig(process.env);
// Service name from POWERTOOLS_SERVICE_NAME, which the construct sets to the table's name, as the reaper's.
const logger = new Logger();
const metrics = new Metrics({ namespace: REAPER_METRICS_NAMESPACE });
const sender = eventBridgePublisher({
  client: new EventBridgeClient({ requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS } }),
  eventBusName: config.eventBusName,
});

export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  logger.addContext(context);
  const { batchItemFailures, error, ...summary } = await publishLeaseEvents(event.Records, {
    sender,
    shouldStop: () => context.getRemainingTimeInMillis() < STOP_BEFORE_DEADLINE_MS,
  });
  metrics.addMetric(LeaseEventsMetric.published, MetricUnit.Count, summary.published);
  if (summary.failed > 0) metrics.addMetric(LeaseEventsMetric.failed, MetricUnit.Count, summary.failed);
  metrics.publishStoredMetrics();
  if (batchItemFailures.length > 0) {
    logger.warn('lease events left for Lambda to resend', { ...summary, resendFrom: batchItemFailures[0]?.itemIdentifier, error });
  } else if (summary.events > 0) {
    logger.info('lease events published', summary);
  }
  return { batchItemFailures };
}
