/**
 * Creating and checking lease tables from the one schema definition, for tests, the demo and the
 * CLI. Production tables come from the `LeaseTable` construct, which reads the same schema.
 *
 * @module
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  type DynamoDBClient,
  type GlobalSecondaryIndexDescription,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError, TableSchemaMismatchError } from './errors.js';
import { translateError } from './store-errors.js';
import { LeaseAttribute, ReaperIndex, SessionIndex } from './schema.js';
import { checkDurationMs, checkTableName, rejectUnknownKeys } from './validate.js';

/** Options of {@link createLeaseTable}. */
export interface CreateLeaseTableOptions {
  /** How long to wait for the table to become active, in whole ms. @default 60000 */
  readonly waitMs?: number;
  /**
   * Turn on the table's stream, with new and old images, as the `LeaseTable` construct does:
   * `observeLeader` follows it to learn of each change of leader within about a second. @default false
   */
  readonly stream?: boolean;
  /**
   * Also require the session index of an existing table of that name (see
   * {@link VerifyLeaseTableOptions.sessions}). A new table always gets it; an existing one is not
   * changed, so a table made before the index existed is refused rather than silently left without it.
   * @default false
   */
  readonly sessions?: boolean;
}

/** Options of {@link verifyLeaseTable}. */
export interface VerifyLeaseTableOptions {
  /** Also require a stream that shows each write's new image (`NEW_IMAGE` or `NEW_AND_OLD_IMAGES`). @default false */
  readonly stream?: boolean;
  /**
   * Also require the sparse session index, keyed by (`sessionGroup`, `name`) and projecting what a
   * group's members read of each other, which sessions and lease groups query. Plain leases do not
   * use it, so without this a table made before the index existed still verifies.
   * @default false
   */
  readonly sessions?: boolean;
}

/** The SDK waiter's own first delay between checks of the table, in seconds. */
const WAITER_MIN_DELAY_S = 20;

/**
 * Creates an on-demand lease table with its two sparse indexes, the reaper index and the session
 * index (and, with `stream: true`, its stream), and waits until it is active. Succeeds without
 * change if a lease table of that name already exists; throws {@link TableSchemaMismatchError} if
 * a table of that name has another key, or no stream when `stream: true` asked for one, or no
 * session index when `sessions: true` asked for it (an existing table is not changed, and a server
 * without streams, such as dynalite, creates none), and {@link InvalidArgumentError} (nothing sent)
 * for a name DynamoDB would refuse or a bad option.
 */
export async function createLeaseTable(
  client: DynamoDBClient,
  tableName: string,
  options: CreateLeaseTableOptions = {},
): Promise<void> {
  checkTableName(tableName);
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, ['waitMs', 'stream', 'sessions']);
  const stream = checkBooleanOption('stream', options.stream);
  const sessions = checkBooleanOption('sessions', options.sessions);
  const waitMs = options.waitMs ?? 60_000;
  checkDurationMs('waitMs', waitMs, { exclusiveMin: true });
  if (!Number.isInteger(waitMs)) throw new InvalidArgumentError('waitMs', `must be a whole number of milliseconds, got ${waitMs}`);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: LeaseAttribute.name, AttributeType: 'S' },
          { AttributeName: ReaperIndex.partitionKey, AttributeType: 'N' },
          { AttributeName: ReaperIndex.sortKey, AttributeType: 'N' },
          // The session index's sort key is the table's own key, `name`, already defined above.
          { AttributeName: SessionIndex.partitionKey, AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: LeaseAttribute.name, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: ReaperIndex.name,
            KeySchema: [
              { AttributeName: ReaperIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: ReaperIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...ReaperIndex.projectedAttributes] },
          },
          {
            IndexName: SessionIndex.name,
            KeySchema: [
              { AttributeName: SessionIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: SessionIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...SessionIndex.projectedAttributes] },
          },
        ],
        ...(stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw translateError(error, tableName, undefined);
  }
  // The waiter counts in seconds and refuses a wait no longer than its first delay: a shorter
  // wait checks more often instead.
  const maxWaitTime = waitMs / 1_000;
  await waitUntilTableExists({ client, maxWaitTime, minDelay: Math.min(WAITER_MIN_DELAY_S, maxWaitTime / 2) }, { TableName: tableName });
  await verifyLeaseTable(client, tableName, { stream, sessions });
}

/**
 * Checks that `tableName` exists and is a lease table: key `name` (string), with the reaper index,
 * with `stream: true` a stream of new images, and with `sessions: true` the session index. Throws
 * {@link TableNotFoundError} or {@link TableSchemaMismatchError} naming what is wrong, and
 * {@link InvalidArgumentError} (nothing sent) for a name DynamoDB would refuse or a bad option.
 */
export async function verifyLeaseTable(client: DynamoDBClient, tableName: string, options: VerifyLeaseTableOptions = {}): Promise<void> {
  await verifyLeaseTableUnder(client, tableName, options, undefined);
}

/**
 * {@link verifyLeaseTable} with its `DescribeTable` aborted by `abortSignal`: for callers that
 * bound every request (a session's open must not hang on a connection dropped in silence).
 *
 * @internal
 */
export async function verifyLeaseTableUnder(
  client: DynamoDBClient,
  tableName: string,
  options: VerifyLeaseTableOptions,
  abortSignal: AbortSignal | undefined,
): Promise<void> {
  checkTableName(tableName);
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, ['stream', 'sessions']);
  const stream = checkBooleanOption('stream', options.stream);
  const sessions = checkBooleanOption('sessions', options.sessions);
  let table: TableDescription | undefined;
  try {
    ({ Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal }));
  } catch (error) {
    throw translateError(error, tableName, undefined);
  }
  const problem =
    schemaProblem(table) ?? (stream ? streamProblem(table) : undefined) ?? (sessions ? sessionIndexProblem(table) : undefined);
  if (problem) throw new TableSchemaMismatchError(tableName, problem);
}

function checkBooleanOption(argument: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidArgumentError(argument, `must be true or false, got ${String(value)}`);
  return value === true;
}

function streamProblem(table: TableDescription | undefined): string | undefined {
  const spec = table?.StreamSpecification;
  if (!spec?.StreamEnabled || !table?.LatestStreamArn) return 'it has no stream; turn one on with new and old images';
  if (spec.StreamViewType !== 'NEW_IMAGE' && spec.StreamViewType !== 'NEW_AND_OLD_IMAGES') {
    return `its stream shows ${spec.StreamViewType}, not each write's new image; turn it on with new and old images`;
  }
  return undefined;
}

function schemaProblem(table: TableDescription | undefined): string | undefined {
  const keys = table?.KeySchema ?? [];
  const types = new Map((table?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const describe = keys.map((k) => `${k.AttributeName} (${k.KeyType})`).join(', ') || 'none';
  if (keys.length !== 1 || keys[0]?.AttributeName !== LeaseAttribute.name || keys[0].KeyType !== 'HASH') {
    return `its key is ${describe}, expected partition key "${LeaseAttribute.name}" only`;
  }
  if (types.get(LeaseAttribute.name) !== 'S') return `its key "${LeaseAttribute.name}" is not a string`;
  return reaperIndexProblem(table);
}

/** What is wrong with the reaper index, if anything: missing, other keys (an earlier build's among them), or too little projected. */
function reaperIndexProblem(table: TableDescription | undefined): string | undefined {
  const { name, partitionKey, sortKey } = ReaperIndex;
  const wanted = `(${partitionKey}, ${sortKey})`;
  const recreate = 'recreate the index as createLeaseTable makes it';
  const index = table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === name);
  if (!index) return `it lacks the reaper index "${name}" on ${wanted}`;
  const keys = (index.KeySchema ?? []).map((k) => k.AttributeName);
  if (keys.join(',') === `${partitionKey},${LeaseAttribute.expiresAt}`) {
    return `its reaper index "${name}" is keyed on (${partitionKey}, ${LeaseAttribute.expiresAt}), as earlier builds made it, which every renewal rewrites; ${recreate}, on ${wanted}`;
  }
  if (keys.join(',') !== `${partitionKey},${sortKey}`) return `its reaper index "${name}" is keyed on (${keys.join(', ')}), expected ${wanted}; ${recreate}`;
  const missing = unprojected(index, ReaperIndex.projectedAttributes);
  if (missing.length > 0) return `its reaper index "${name}" does not project ${missing.join(', ')}, which the reaper reads; ${recreate}`;
  return undefined;
}

/** What is wrong with the session index, if anything: missing, other keys or key types, or too little projected. */
function sessionIndexProblem(table: TableDescription | undefined): string | undefined {
  const { name, partitionKey, sortKey } = SessionIndex;
  const wanted = `(${partitionKey}, ${sortKey})`;
  const index = table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === name);
  if (!index) {
    return (
      `it lacks the session index "${name}" on ${wanted}, which sessions and lease groups need; ` +
      'redeploy the LeaseTable construct of this version, or add the index (UpdateTable) as createLeaseTable makes it'
    );
  }
  const keys = index.KeySchema ?? [];
  const hash = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = keys.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (keys.length !== 2 || hash !== partitionKey || range !== sortKey) {
    const found = keys.map((k) => `${k.AttributeName} (${k.KeyType})`).join(', ') || 'none';
    return `its session index "${name}" is keyed by ${found}, expected ${wanted}; recreate the index as createLeaseTable makes it`;
  }
  const types = new Map((table?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  if (types.get(partitionKey) !== 'S') {
    return `its session index "${name}" has a partition key "${partitionKey}" that is not a string; recreate the index as createLeaseTable makes it`;
  }
  const missing = unprojected(index, SessionIndex.projectedAttributes);
  if (missing.length > 0) {
    return (
      `its session index "${name}" does not project ${missing.join(', ')}, which group members read of each other; ` +
      'recreate the index as createLeaseTable makes it'
    );
  }
  return undefined;
}

/** Those of `attributes`, read through `index`, that it does not project. */
function unprojected(index: GlobalSecondaryIndexDescription, attributes: readonly string[]): string[] {
  const projection = index.Projection;
  if (projection?.ProjectionType === 'ALL') return [];
  const projected = new Set(projection?.ProjectionType === 'INCLUDE' ? (projection.NonKeyAttributes ?? []) : []);
  return attributes.filter((attribute) => !projected.has(attribute));
}
