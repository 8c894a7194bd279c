/**
 * A lease table's DynamoDB stream, read back as Lambda receives it: the stream turned on with
 * UpdateTable, and every record of every shard read from the start with the DynamoDB Streams API,
 * converted to the `DynamoDBRecord` shape of a Lambda stream event (JSON attribute values, the
 * creation time in epoch seconds).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DescribeTableCommand, PutItemCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { LeaseAttribute } from '../../lib/core/schema.js';
import { localClientConfig } from '../../lib/testing/local-dynamodb.js';
import type { Backend } from './backends.js';

/** How long a stream record may take to become readable before the read gives up (DynamoDB Local: ~6 ms). */
const STREAM_WAIT_MS = 15_000;

/** Turns on the table's stream with new and old images, and resolves with its ARN once the table is active. */
export async function enableStream(client: DynamoDBClient, tableName: string): Promise<string> {
  await client.send(
    new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
  );
  for (const started = Date.now(); Date.now() - started < STREAM_WAIT_MS; await delay(50)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE' && Table.LatestStreamArn) return Table.LatestStreamArn;
  }
  throw new Error(`the stream of ${tableName} did not become active`);
}

/**
 * Writes an item that is not a lease and reads the whole stream until that item's record has
 * arrived: every write made before it is then in what the read returns, in order per item.
 */
export async function readWholeStream(backend: Backend, client: DynamoDBClient, tableName: string, streamArn: string): Promise<DynamoDBRecord[]> {
  const sentinel = `end-of-stream-${Date.now()}`;
  await client.send(new PutItemCommand({ TableName: tableName, Item: { [LeaseAttribute.name]: { S: sentinel } } }));
  // A real table's stream has an endpoint of its own (streams.dynamodb.<region>...): the SDK's default.
  const streams = new DynamoDBStreamsClient(backend.name === 'endpoint' ? {} : localClientConfig(backend.endpoint));
  try {
    for (const started = Date.now(); Date.now() - started < STREAM_WAIT_MS; await delay(50)) {
      const records = await readShards(streams, streamArn);
      if (records.some((record) => record.dynamodb?.Keys?.[LeaseAttribute.name]?.S === sentinel)) return records;
    }
    throw new Error(`the stream of ${tableName} never showed the write of ${sentinel}`);
  } finally {
    streams.destroy();
  }
}

/** Every record of every shard, from the trim horizon to the end of what is readable now; parents first. */
async function readShards(streams: DynamoDBStreamsClient, streamArn: string): Promise<DynamoDBRecord[]> {
  const shardIds: string[] = [];
  let exclusiveStartShardId: string | undefined;
  do {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }));
    shardIds.push(...(StreamDescription?.Shards ?? []).map((shard) => shard.ShardId!));
    exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
  } while (exclusiveStartShardId);
  const records: DynamoDBRecord[] = [];
  for (const shardId of shardIds) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    // An open shard always hands out a next iterator: an empty page is the end of what is there now.
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const found = page.Records ?? [];
      records.push(...found.map(asLambdaRecord));
      iterator = found.length > 0 ? page.NextShardIterator : undefined;
    }
  }
  return records;
}

/** A Streams API record as Lambda delivers it: attribute values as JSON, the time in epoch seconds. */
function asLambdaRecord(record: StreamsRecord): DynamoDBRecord {
  const { ApproximateCreationDateTime, ...rest } = record.dynamodb ?? {};
  const json = JSON.parse(JSON.stringify({ ...record, dynamodb: rest })) as DynamoDBRecord;
  return {
    ...json,
    eventSource: 'aws:dynamodb',
    dynamodb: { ...json.dynamodb, ApproximateCreationDateTime: (ApproximateCreationDateTime?.getTime() ?? 0) / 1_000 },
  };
}
