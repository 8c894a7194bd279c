/**
 * An example singleton Lambda function: however often it is invoked at once (EventBridge delivers
 * at least once, retries overlap, people click twice), one invocation at a time does the job; the
 * others return without doing it. Deployed by the example CDK app in `bin/`.
 *
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { LeaseClient } from '../lib/core/lease-client.js';
import { singleton, type SingletonContext } from '../lib/serverless/singleton.js';

const tableName = process.env.LEASEHOLD_TABLE_NAME;
if (!tableName) throw new Error('LEASEHOLD_TABLE_NAME is not set: deploy this function with the example CDK app');

const leases = new LeaseClient({ tableName, client: new DynamoDBClient({}) });

/** What one run reports. */
export interface ExampleResult {
  readonly ran: true;
  /** Hand this to every resource the job writes, so a stale run's late writes are refused. */
  readonly fencingToken: number;
}

async function work(_event: ScheduledEvent, context: SingletonContext): Promise<ExampleResult> {
  return { ran: true, fencingToken: context.lease.fencingToken };
}

export const handler = middy(work).use(singleton({ leases, name: 'example-nightly-report', onBusy: 'skip' }));
