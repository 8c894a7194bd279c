/**
 * The IAM actions each role needs, kept in one place so grants and reviews read the same list.
 * Each list is the smallest that lets its role work: adding an action here widens every grant.
 *
 * @module
 */

/**
 * Item actions of a lease holder (`LeaseClient`, the elector, the Lambda singleton): a consistent
 * `GetItem` to read a lease, `UpdateItem` for acquire, renew and release (all conditional writes),
 * and `ConditionCheckItem` so a holder can guard a write elsewhere with its lease in one
 * `TransactWriteItems` (fenced writes). All of them carry the lease name as partition key, so
 * `dynamodb:LeadingKeys` can scope them to names.
 */
export const ACQUIRE_ITEM_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
];

/**
 * Table actions that carry no item key: `verifyLeaseTable` checks the key schema and index with
 * `DescribeTable`. Granted without a `dynamodb:LeadingKeys` condition, because the key is absent.
 */
export const TABLE_METADATA_ACTIONS: readonly string[] = ['dynamodb:DescribeTable'];

/**
 * Read-only actions of an observer (dashboards, the CLI, `LeaseClient.describe`): read one lease,
 * read many, and list them through the table or the reaper index.
 */
export const OBSERVE_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:DescribeTable',
];

/**
 * Stream actions of an observer, granted only when the table has a stream (lease watchers). The
 * stream ARN comes from `DescribeTable`, so `ListStreams` (which IAM cannot scope) is not needed.
 */
export const OBSERVE_STREAM_ACTIONS: readonly string[] = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
];

/**
 * Item actions a session and its lease groups add to a holder's ({@link ACQUIRE_ITEM_ACTIONS}):
 * `BatchGetItem`, to read the leases a session owns (or means to take) in strongly consistent
 * batches of up to 100 rather than one `GetItem` each. It carries each lease's name as partition
 * key, so `dynamodb:LeadingKeys` scopes it like the holder's actions. Everything else is a holder's
 * action already: renewing a session is an `UpdateItem`, and taking a lease from a dead session is
 * a `TransactWriteItems`, which IAM authorizes per item as `ConditionCheckItem` (the session) and
 * `UpdateItem` (the lease); there is no `dynamodb:TransactWriteItems` action to grant.
 */
export const SESSION_ITEM_ACTIONS: readonly string[] = ['dynamodb:BatchGetItem'];

/**
 * Members of a lease group find each other with one `Query` on the sparse session index, and only
 * there: granted on the index's ARN, not the table's, so it cannot list the table.
 */
export const SESSION_INDEX_ACTIONS: readonly string[] = ['dynamodb:Query'];

/** The reaper finds held leases through the sparse reaper index, and only there. */
export const REAPER_INDEX_ACTIONS: readonly string[] = ['dynamodb:Query'];

/** The reaper marks an expired lease with one conditional write on the table. */
export const REAPER_TABLE_ACTIONS: readonly string[] = ['dynamodb:UpdateItem'];

/** The reaper publishes one `Lease Expired` event per reaped lease. */
export const REAPER_BUS_ACTIONS: readonly string[] = ['events:PutEvents'];

/**
 * The `LeaseEvents` function's event source mapping reads the table's stream with its role: the
 * observer's stream actions, on that stream. Not `ListStreams`: IAM cannot scope it to a table
 * (a grant on the stream's ARN allows nothing), and the mapping is given the stream's ARN.
 */
export const EVENTS_STREAM_ACTIONS: readonly string[] = OBSERVE_STREAM_ACTIONS;

/** The `LeaseEvents` function publishes one event per change of leadership. */
export const EVENTS_BUS_ACTIONS: readonly string[] = ['events:PutEvents'];
