/**
 * What every command starts from: the global options, a DynamoDB client built from them, a
 * `LeaseClient` on the chosen table, and printing in the chosen format.
 *
 * @module
 */
import { hostname, userInfo } from 'node:os';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { InvalidArgumentError, LeaseClient, verifyLeaseTable, type VerifyLeaseTableOptions } from '../lib/index.js';

/** Where a command writes; injectable so tests can run the program in-process too. */
export interface Io {
  out(line: string): void;
  /** Resolves when the user asks to stop (Ctrl-C or SIGTERM). */
  interrupted: Promise<void>;
}

export interface GlobalOptions {
  table: string;
  endpoint?: string;
  region?: string;
  json?: boolean;
}

/** A command's handle on the table the global options name. */
export interface Connection {
  readonly options: GlobalOptions;
  readonly client: DynamoDBClient;
  /** Prints `human`, or `data` as one line of JSON under `--json`. */
  print(human: string, data: unknown): void;
  leases(options?: { holderId?: string }): LeaseClient;
}

/** What commands get from the program they are registered with. */
export interface Cli {
  readonly io: Io;
  /** Connects without looking at the table: for create-table, which makes it. */
  connect(): Connection;
  /** Connects and checks the table is a lease table first (with `sessions: true`, one with the session index). */
  openLeaseTable(options?: VerifyLeaseTableOptions): Promise<Connection>;
}

/** `program`'s global options are read when a command runs, after commander has parsed them. */
export function cliOf(program: Command, io: Io): Cli {
  const connect = (): Connection => {
    const options = program.opts<GlobalOptions>();
    const client = new DynamoDBClient(clientConfig(options));
    return {
      options,
      client,
      print: (human, data) => io.out(options.json ? JSON.stringify(data) : human),
      leases: ({ holderId } = {}) => new LeaseClient({ tableName: options.table, client, ...(holderId && { holderId }) }),
    };
  };
  return {
    io,
    connect,
    // Otherwise a table with another key lists as empty and one whose key is a number fails with
    // a raw ValidationException: check the schema first, so both say it is not a lease table.
    openLeaseTable: async (verify) => {
      const connection = connect();
      await verifyLeaseTable(connection.client, connection.options.table, verify);
      return connection;
    },
  };
}

/** The holder id `acquire` takes a lease as and `release` gives it up as, unless `--holder` says. */
export const defaultHolderId = (): string => `cli:${userInfo().username}@${hostname()}`;

/** The SDK takes any string here and fails later as "Region is missing": refuse it as input. */
export function parseEndpoint(text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new InvalidArgumentError('--endpoint', `"${text}" is not an http(s) URL; use e.g. http://localhost:8000`);
  }
  return text;
}

/** The fake credentials the demo and local servers use, so the CLI sees the same tables. */
const LOCAL_CREDENTIALS = { accessKeyId: 'leasehold', secretAccessKey: 'leasehold' };

function clientConfig({ endpoint, region }: GlobalOptions): DynamoDBClientConfig {
  const local = endpoint !== undefined && /^https?:\/\/(localhost|127\.|\[::1\])/.test(endpoint);
  return {
    ...(endpoint && { endpoint }),
    ...(region && { region }),
    ...(local && !region && !process.env.AWS_REGION && { region: 'us-east-1' }),
    ...(local && !process.env.AWS_ACCESS_KEY_ID && { credentials: LOCAL_CREDENTIALS }),
  };
}
