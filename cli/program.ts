/**
 * The `leasehold` command line: operators' view of a lease table. Each command is a thin layer
 * over `LeaseClient`; parsing is commander's.
 *
 * @module
 */
import { hostname, userInfo } from 'node:os';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Command, Option } from 'commander';
import {
  createLeaseTable,
  InvalidArgumentError,
  LeaseClient,
  LeaseUnavailableError,
  sleep,
  systemClock,
  verifyLeaseTable,
  type Lease,
  type LeaseDescription,
  type LeaseLostError,
} from '../lib/index.js';
import { eventBridgePublisher, reapExpiredLeases } from '../lib/serverless/index.js';
import { parseDuration } from './duration.js';
import { describeLine, describeState, leaseTable } from './output.js';

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

/** The SDK takes any string here and fails later as "Region is missing": refuse it as input. */
function parseEndpoint(text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new InvalidArgumentError('--endpoint', `"${text}" is not an http(s) URL; use e.g. http://localhost:8000`);
  }
  return text;
}

const defaultHolder = () => `cli:${userInfo().username}@${hostname()}`;

export function buildProgram(io: Io): Command {
  const program = new Command('leasehold')
    .description('Inspect and operate leasehold lease tables.')
    .addOption(new Option('--table <name>', 'lease table').env('LEASEHOLD_TABLE_NAME').default('leasehold'))
    .option('--endpoint <url>', 'DynamoDB endpoint (e.g. a local server)', parseEndpoint)
    .option('--region <region>', 'AWS region (default: from the environment)')
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError('(run with --help for usage)')
    // Before any command is added: subcommands copy this setting when created.
    .exitOverride();

  const context = () => {
    const options = program.opts<GlobalOptions>();
    const client = new DynamoDBClient(clientConfig(options));
    return { options, client, print: (human: string, data: unknown) => io.out(options.json ? JSON.stringify(data) : human) };
  };
  // Otherwise a table with another key lists as empty and one whose key is a number fails with
  // a raw ValidationException: check the schema first, so both say it is not a lease table.
  const leaseTableContext = async () => {
    const opened = context();
    await verifyLeaseTable(opened.client, opened.options.table);
    return opened;
  };
  const leasesFor = (client: DynamoDBClient, options: GlobalOptions, holderId?: string) =>
    new LeaseClient({ tableName: options.table, client, ...(holderId && { holderId }) });

  program
    .command('create-table')
    .description('create the lease table (on-demand, with the reaper index); no-op if it exists')
    .action(async () => {
      const { options, client, print } = context();
      await createLeaseTable(client, options.table);
      print(`table ${options.table} is ready`, { table: options.table, ready: true });
    });

  program
    .command('list')
    .description('list every lease in the table')
    .action(async () => {
      const { options, client, print } = await leaseTableContext();
      const all: LeaseDescription[] = [];
      for await (const lease of leasesFor(client, options).list()) all.push(lease);
      all.sort((a, b) => a.name.localeCompare(b.name));
      print(all.length ? leaseTable(all, Date.now()) : `no leases in ${options.table}`, all);
    });

  program
    .command('status')
    .description('show one lease')
    .argument('<name>', 'lease name')
    .action(async (name: string) => {
      const { options, client, print } = await leaseTableContext();
      const lease = await leasesFor(client, options).describe(name);
      if (!lease) {
        print(`${name}: never acquired`, null);
        return;
      }
      print(describeLine(lease, Date.now()), lease);
    });

  program
    .command('acquire')
    .description('acquire a lease; with --hold, keep renewing it until Ctrl-C, then release')
    .argument('<name>', 'lease name')
    .requiredOption('--lease <duration>', 'lease duration, e.g. 30s', (v) => parseDuration('--lease', v))
    .option('--wait <duration>', 'wait this long for a busy lease', (v) => parseDuration('--wait', v))
    .option('--hold', 'keep holding (renewing every lease/3) until interrupted')
    .option('--holder <id>', 'holder id to acquire as', defaultHolder())
    .action(async (name: string, flags: { lease: number; wait?: number; hold?: boolean; holder: string }) => {
      const { options, client, print } = await leaseTableContext();
      const leases = leasesFor(client, options, flags.holder);
      const lease = await acquireOnce(leases, name, flags);
      if (!lease) {
        const current = await leases.describe(name);
        print(`${name}: busy, ${current ? describeState(current, Date.now()) : 'held'}`, { acquired: false, current });
        process.exitCode = 1;
        return;
      }
      const facts = { acquired: true, name, holderId: lease.holderId, fencingToken: lease.fencingToken, expiresAt: lease.expiresAt };
      print(`${name}: acquired by ${lease.holderId} with fencing token ${lease.fencingToken}`, facts);
      if (!flags.hold) return;
      const stop = Promise.race([io.interrupted, new Promise<void>((resolve) => lease.signal.addEventListener('abort', () => resolve()))]);
      while (lease.isHeld) {
        const tick = sleep(systemClock, flags.lease / 3).then(() => 'renew' as const);
        if ((await Promise.race([tick, stop.then(() => 'stop' as const)])) === 'stop') break;
        await lease.renew().catch(() => undefined);
      }
      const loss = lease.signal.reason as LeaseLostError | undefined;
      if (loss && loss.reason !== 'released') {
        print(`${name}: lost: ${loss.message}`, { lost: true, reason: loss.reason });
        process.exitCode = 1;
      }
      await lease.release();
      print(`${name}: released`, { released: true, name, fencingToken: lease.fencingToken });
    });

  program
    .command('release')
    .description("release a lease held by --holder; with --force, whoever holds it (the holder isn't told)")
    .argument('<name>', 'lease name')
    .option('--holder <id>', 'only release it if this holder holds it', defaultHolder())
    .option('--force', 'release it whoever holds it (still conditional on the token read)')
    .action(async (name: string, flags: { holder: string; force?: boolean }) => {
      const { options, client, print } = await leaseTableContext();
      const leases = leasesFor(client, options);
      const current = await leases.describe(name);
      if (!current || current.state === 'released') {
        print(`${name}: not held`, { released: false, reason: 'not held' });
        return;
      }
      if (!flags.force && current.holderId !== flags.holder) {
        throw new InvalidArgumentError('--holder', `${name} is held by ${current.holderId}, not ${flags.holder}; use --force to release it anyway`);
      }
      const released = await leases.revoke(name, current.fencingToken);
      print(
        released ? `${name}: released (was ${current.holderId}, token ${current.fencingToken})` : `${name}: changed meanwhile; not released`,
        { released, name, fencingToken: current.fencingToken },
      );
      if (!released) process.exitCode = 1;
    });

  program
    .command('watch')
    .description('print a line each time a lease (or any lease) changes, until Ctrl-C')
    .argument('[name]', 'lease name (default: every lease)')
    .option('--interval <duration>', 'how often to look', (v) => parseDuration('--interval', v), 1_000)
    .action(async (name: string | undefined, flags: { interval: number }) => {
      const { options, client, print } = await leaseTableContext();
      const leases = leasesFor(client, options);
      const seen = new Map<string, string>();
      let stopped = false;
      void io.interrupted.then(() => (stopped = true));
      while (!stopped) {
        const snapshot = name ? [await leases.describe(name)].filter((l): l is LeaseDescription => !!l) : await collect(leases.list());
        for (const lease of snapshot) {
          const key = `${lease.state}/${lease.holderId}/${lease.fencingToken}`;
          if (seen.get(lease.name) === key) continue;
          seen.set(lease.name, key);
          print(`${new Date().toISOString()}  ${describeLine(lease, Date.now())}`, lease);
        }
        await Promise.race([sleep(systemClock, flags.interval), io.interrupted]);
      }
    });

  program
    .command('reap')
    .description('run the reaper once: mark leases past expiry + skew as expired (and publish events with --event-bus)')
    .option('--skew <duration>', 'only leases past expiresAt + skew are reaped (when events go out; never who may take a lease)', (v) => parseDuration('--skew', v), 1_000)
    .option('--event-bus <name>', "publish a Lease Expired event per reaped lease to this EventBridge bus ('default' for the account's)")
    .action(async (flags: { skew: number; eventBus?: string }) => {
      const { options, client, print } = await leaseTableContext();
      const publisher = flags.eventBus
        ? eventBridgePublisher({
            // --endpoint is DynamoDB's; EventBridge takes the SDK's own (AWS_ENDPOINT_URL_EVENTBRIDGE).
            client: await eventBridgeClient(options.region),
            ...(flags.eventBus !== 'default' && { eventBusName: flags.eventBus }),
          })
        : undefined;
      const summary = await reapExpiredLeases({ client, tableName: options.table, skewMs: flags.skew, ...(publisher && { publisher }) });
      print(
        `reaped ${summary.reaped} of ${summary.scanned} expired leases (${summary.raced} renewed meanwhile, ${summary.skipped} left for later)` +
          (publisher ? `, ${summary.eventsFailed} events failed` : ''),
        summary,
      );
      if (summary.eventsFailed > 0) process.exitCode = 1;
    });

  return program;
}

/**
 * Loaded only for `reap --event-bus`: @aws-sdk/client-eventbridge is an optional peer of the
 * package, so every other command must run without it.
 */
async function eventBridgeClient(region: string | undefined): Promise<EventBridgeClient> {
  try {
    const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
    return new EventBridgeClient({ ...(region && { region }) });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code !== 'ERR_MODULE_NOT_FOUND' || !message?.includes("'@aws-sdk/client-eventbridge'")) throw error;
    throw new InvalidArgumentError('--event-bus', 'needs @aws-sdk/client-eventbridge: npm install @aws-sdk/client-eventbridge');
  }
}

/** `undefined` when busy, whether or not it waited: both are the same outcome to a CLI user. */
async function acquireOnce(leases: LeaseClient, name: string, flags: { lease: number; wait?: number }): Promise<Lease | undefined> {
  if (flags.wait === undefined) return leases.tryAcquire(name, { leaseMs: flags.lease });
  try {
    return await leases.acquire(name, { leaseMs: flags.lease, waitMs: flags.wait });
  } catch (error) {
    if (error instanceof LeaseUnavailableError) return undefined;
    throw error;
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
