/**
 * closeOnSignals in a real process: a leader started with tsx receives SIGTERM, drains, releases
 * its lease and exits 0, by itself (nothing left to run) or, with an HTTP server still open, by
 * `exit: true`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable, LeaseClient } from '../lib/index.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

describe('closeOnSignals in a real process', () => {
  const backend = referenceBackend();
  const tableName = uniqueTableName('signals');
  const admin = clientFor(backend);
  const reader = new LeaseClient({ tableName, client: admin, holderId: 'reader' });

  beforeAll(() => createLeaseTable(admin, tableName));
  afterAll(() => admin.destroy());

  /** Starts the leader, waits until it leads, sends SIGTERM; resolves with its exit and its fencing token. */
  const leadThenTerminate = async (name: string, ...flags: string[]) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'processes/signal-leader.ts'), backend.endpoint, tableName, name, 'container', ...flags],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let fencingToken: number | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      fencingToken = (JSON.parse(line) as { leading: number }).leading;
      break;
    }
    expect(fencingToken, 'the child led before it was told to stop').toBeDefined();
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    return { code, signal, fencingToken: fencingToken! };
  };

  it('releases the lease on SIGTERM and exits 0 by itself', async () => {
    const { code, signal, fencingToken } = await leadThenTerminate('by-itself');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(await reader.describe('by-itself')).toMatchObject({ holderId: 'container', fencingToken, state: 'released' });
  }, 60_000);

  it('releases the lease on SIGTERM and exits 0 with exit: true while a health server is still open', async () => {
    const { code, signal, fencingToken } = await leadThenTerminate('with-server', '--serve');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(await reader.describe('with-server')).toMatchObject({ holderId: 'container', fencingToken, state: 'released' });
  }, 60_000);
});
