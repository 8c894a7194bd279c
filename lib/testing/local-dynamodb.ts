/**
 * Real DynamoDB servers on loopback, for leasehold's own tests, demo and benchmarks and for users'
 * tests (`leasehold/testing`). Each server's package is an optional peer dependency, loaded only
 * when that server is started.
 *
 * - DynamoDB Local: AWS's own emulator (the jar inside the `amplify-dynamodb-simulator` npm
 *   package), run with the machine's Java. The reference backend.
 * - dynalite: pure Node, in-process; the fallback where Java is absent. It lacks transactions and
 *   `ReturnValuesOnConditionCheckFailure`.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** A running local DynamoDB server. */
export interface LocalDynamoDB {
  /** Which server: AWS's DynamoDB Local (Java), or dynalite (in this process; no transactions). */
  readonly kind: 'dynamodb-local' | 'dynalite';
  /** Its URL on loopback, for {@link localClientConfig}. */
  readonly endpoint: string;
  /** Stops the server (the JVM, for DynamoDB Local); its in-memory tables are gone. */
  stop(): Promise<void>;
}

/**
 * Client settings for a local server. DynamoDB Local keeps one database per access key and
 * region, so every participant must use this same fake pair to see the same tables.
 */
export function localClientConfig(endpoint: string): DynamoDBClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'leasehold', secretAccessKey: 'leasehold' },
  };
}

const children = new Set<ChildProcess>();
let exitHooked = false;

/** A test run or demo that dies must not leave a JVM behind: hooked on the first start, not at import. */
function killChildrenOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
}

/** Resolves an optional peer dependency, or says which package to install. */
function requirePeer(specifier: string, server: string): string {
  try {
    return createRequire(import.meta.url).resolve(specifier);
  } catch {
    throw new Error(`${server} needs the npm package "${specifier.split('/')[0]}": npm install --save-dev ${specifier.split('/')[0]}`);
  }
}

/** Starts DynamoDB Local on a free loopback port and resolves once it answers `ListTables`. */
export async function startDynamoDBLocal(options: { port?: number } = {}): Promise<LocalDynamoDB> {
  const emulator = join(dirname(requirePeer('amplify-dynamodb-simulator/package.json', 'DynamoDB Local')), 'emulator');
  const port = options.port ?? (await freePort());
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(emulator, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(emulator, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // It writes a metadata file into its working directory even in memory: keep it out of the repo.
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() },
  );
  killChildrenOnExit();
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
    children.delete(child);
  };
  try {
    await waitUntilAnswering(endpoint, 30_000, () => child.exitCode !== null);
  } catch (error) {
    await stop();
    throw new Error(`DynamoDB Local did not start on port ${port}: ${(error as Error).message}\n${output}`);
  }
  return { kind: 'dynamodb-local', endpoint, stop };
}

/** Starts dynalite in this process on a free loopback port. */
export async function startDynalite(): Promise<LocalDynamoDB> {
  requirePeer('dynalite', 'dynalite');
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite did not bind a TCP port');
  return {
    kind: 'dynalite',
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Whether the machine can run DynamoDB Local. */
export function javaAvailable(): boolean {
  return spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
}

/** DynamoDB Local where Java is installed, dynalite otherwise (or as `prefer` says). */
export function startEmbeddedDynamoDB(options: { prefer?: LocalDynamoDB['kind'] } = {}): Promise<LocalDynamoDB> {
  const kind = options.prefer ?? (javaAvailable() ? 'dynamodb-local' : 'dynalite');
  return kind === 'dynamodb-local' ? startDynamoDBLocal() : startDynalite();
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number, died: () => boolean): Promise<void> {
  const client = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(1_000) });
        return;
      } catch (error) {
        if (died()) throw new Error('the process exited');
        if (Date.now() > deadline) throw error;
        await delay(100);
      }
    }
  } finally {
    client.destroy();
  }
}
