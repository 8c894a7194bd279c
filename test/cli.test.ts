/**
 * The `leasehold` CLI as users run it: a subprocess against DynamoDB Local.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, type ScalarAttributeType } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseClient, ManualClock } from '../lib/index.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

const run = promisify(execFile);
const entry = join(import.meta.dirname, '..', 'bin', 'leasehold.ts');
const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

describe('leasehold CLI', () => {
  const backend = referenceBackend();
  const table = uniqueTableName('cli');
  const base = ['--import', 'tsx', entry, '--endpoint', backend.endpoint, '--table', table];
  const cliIn = async (childEnv: NodeJS.ProcessEnv, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [...base, ...args], { env: childEnv, timeout: 20_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  };
  const cli = (...args: string[]) => cliIn(env, ...args);
  const children: ReturnType<typeof spawn>[] = [];
  const start = (...args: string[]) => {
    const child = spawn(process.execPath, [...base, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const sees = async (text: string) => {
      while (!stdout.includes(text)) await once(child.stdout, 'data');
    };
    return { child, sees, output: () => stdout };
  };
  afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

  // Tables that exist but are not lease tables: another key, and the right key of the wrong type.
  const otherKeyTable = uniqueTableName('cli-other-key');
  const numberKeyTable = uniqueTableName('cli-number-key');
  beforeAll(async () => {
    const client = clientFor(backend);
    const create = (TableName: string, AttributeName: string, AttributeType: ScalarAttributeType) =>
      client.send(
        new CreateTableCommand({
          TableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName, AttributeType }],
          KeySchema: [{ AttributeName, KeyType: 'HASH' }],
        }),
      );
    await Promise.all([create(otherKeyTable, 'id', 'S'), create(numberKeyTable, 'name', 'N')]);
    client.destroy();
  });

  it('creates the table, idempotently', async () => {
    expect(await cli('create-table')).toMatchObject({ code: 0, stdout: `table ${table} is ready\n` });
    expect((await cli('create-table')).code).toBe(0);
  });

  it('acquires, reports busy to another holder, lists, and shows status as text and JSON', async () => {
    const acquired = await cli('--json', 'acquire', 'job', '--lease', '30s');
    expect(acquired.code).toBe(0);
    expect(JSON.parse(acquired.stdout)).toMatchObject({ acquired: true, fencingToken: 1 });

    const busy = await cli('acquire', 'job', '--lease', '30s', '--holder', 'someone-else');
    expect(busy.code).toBe(1);
    expect(busy.stdout).toMatch(/^job: busy, held by cli:.+ \(token 1\), expires in \d/);

    expect((await cli('list')).stdout).toMatch(/NAME\s+STATE\s+HOLDER\s+TOKEN\s+EXPIRES IN\s+SESSION\njob\s+held\s+cli:\S+\s+1\s+\d+\.\ds\n/);
    expect(JSON.parse((await cli('--json', 'status', 'job')).stdout)).toMatchObject({ name: 'job', state: 'held', fencingToken: 1 });
    expect((await cli('status', 'nothing-here')).stdout).toBe('nothing-here: never acquired\n');
  });

  it('names a busy lease once, with and without --wait', async () => {
    // Held to the end of the file: long enough that the reap test never finds it expired on a slow machine.
    await cli('acquire', 'contended', '--lease', '10m', '--holder', 'first');
    for (const wait of [[], ['--wait', '200ms']]) {
      const busy = await cli('acquire', 'contended', '--lease', '30s', '--holder', 'second', ...wait);
      expect(busy).toMatchObject({ code: 1, stderr: '' });
      expect(busy.stdout).toMatch(/^contended: busy, held by first \(token 1\), expires in 9m \d\ds\n$/);
    }
  });

  it('releases only for the holder; revoke frees it whoever holds it', async () => {
    const refused = await cli('release', 'job', '--holder', 'someone-else');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^leasehold: --holder: job is held by cli:\S+, not someone-else; use revoke/);
    expect((await cli('--json', 'status', 'job')).stdout).toContain('"state":"held"');

    expect((await cli('release', 'job')).stdout).toMatch(/^job: released \(was cli:\S+, token 1\)/);
    await cli('acquire', 'job', '--lease', '30s', '--holder', 'someone-else');
    expect((await cli('revoke', 'job')).stdout).toMatch(/^job: revoked \(was someone-else, token 2\)/);
    expect((await cli('release', 'job')).stdout).toBe('job: not held\n');
    expect((await cli('revoke', 'job')).stdout).toBe('job: not held\n');
  });

  it('revokes at the fencing token it read, and says so in JSON', async () => {
    await cli('acquire', 'revoked-job', '--lease', '30s', '--holder', 'worker-1');
    const revoked = await cli('--json', 'revoke', 'revoked-job');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ revoked: true, name: 'revoked-job', holderId: 'worker-1', fencingToken: 1 });
    expect((await cli('--json', 'status', 'revoked-job')).stdout).toContain('"state":"released"');
    // The next holder's lease carries a newer token.
    expect(JSON.parse((await cli('--json', 'acquire', 'revoked-job', '--lease', '10m')).stdout)).toMatchObject({ fencingToken: 2 });
  });

  it('tells release and revoke apart in their help', async () => {
    expect((await cli('release', '--help')).stdout).toMatch(/as its holder[\s\S]*revoke/);
    expect((await cli('revoke', '--help')).stdout).toMatch(/whoever holds it[\s\S]*not told[\s\S]*release/);
  });

  it('holds a lease until interrupted, then releases it', async () => {
    const holder = start('acquire', 'held-job', '--lease', '1s', '--hold');
    await holder.sees('acquired');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // longer than the lease: renewals must keep it
    expect((await cli('--json', 'status', 'held-job')).stdout).toContain('"state":"held"');
    holder.child.kill('SIGINT');
    const [code] = await once(holder.child, 'exit');
    expect(code).toBe(0);
    expect(holder.output()).toContain('held-job: released');
    expect((await cli('--json', 'status', 'held-job')).stdout).toContain('"state":"released"');
  });

  it('reports a held lease lost when an operator revokes it, and exits 1', async () => {
    const holder = start('acquire', 'revoked-hold', '--lease', '1s', '--hold', '--holder', 'holding');
    await holder.sees('acquired');
    expect((await cli('revoke', 'revoked-hold')).stdout).toMatch(/^revoked-hold: revoked \(was holding, token 1\)/);
    // Its next renewal finds the lease no longer its own.
    await holder.sees('revoked-hold: lost');
    const [code] = await once(holder.child, 'exit');
    expect(code).toBe(1);
    // It released nothing: the lease it lost was no longer its own to release.
    expect(holder.output()).not.toContain('revoked-hold: released');
  });

  it('watches a lease change hands', async () => {
    const watcher = start('watch', 'watched', '--poll', '100ms');
    await cli('acquire', 'watched', '--lease', '30s');
    await watcher.sees('watched: held by');
    await cli('release', 'watched');
    await watcher.sees('watched: released');
    watcher.child.kill('SIGINT');
    expect((await once(watcher.child, 'exit'))[0]).toBe(0);
  });

  it('reaps expired leases once', async () => {
    // Its holder crashed two minutes ago: past the minute its expiry fell in, which the reaper waits for.
    const client = clientFor(backend);
    const twoMinutesAgo = new ManualClock({ wallStart: Date.now() - 120_000 });
    await new LeaseClient({ tableName: table, client, holderId: 'crashed', clock: twoMinutesAgo }).tryAcquire('short-lived', { leaseMs: 100 });
    client.destroy();
    const reaped = await cli('--json', 'reap', '--skew', '100ms');
    expect(reaped.code).toBe(0);
    expect(JSON.parse(reaped.stdout)).toMatchObject({ reaped: 1, raced: 0 });
    expect((await cli('status', 'short-lived')).stdout).toBe('short-lived: expired (last holder crashed, token 1)\n');
    expect((await cli('reap')).stdout).toBe('reaped 0 of 0 expired leases (0 renewed meanwhile, 0 left for later)\n');
  });

  it.each([
    ['a bad duration', ['acquire', 'x', '--lease', '3x'], /^leasehold: --lease: "3x" is not a duration/],
    ['a missing --lease', ['acquire', 'x'], /required option '--lease <duration>' not specified/],
    ['an unknown command', ['bogus'], /unknown command 'bogus'/],
    ['a missing argument', ['status'], /missing required argument 'name'/],
    ['an invalid lease name', ['status', 'a\u0001b'], /^leasehold: name: must not contain control characters/],
    ['a sub-millisecond lease', ['acquire', 'x', '--lease', '0.5ms'], /^leasehold: --lease: "0.5ms" is not a whole number of milliseconds\n$/],
    ['a fractional-millisecond wait', ['acquire', 'x', '--lease', '1s', '--wait', '1.0005s'], /^leasehold: --wait: "1.0005s" is not a whole number/],
    ['an endpoint that is not a URL', ['--endpoint', 'not-a-url', 'status', 'x'], /^leasehold: --endpoint: "not-a-url" is not an http\(s\) URL/],
    ['a bad --poll', ['watch', '--poll', 'often'], /^leasehold: --poll: "often" is not a duration/],
    ['the old --interval of watch', ['watch', '--interval', '1s'], /unknown option '--interval'/],
    ['release --force, now revoke', ['release', 'x', '--force'], /unknown option '--force'/],
    ['revoke without a name', ['revoke'], /missing required argument 'name'/],
    ['an invalid lease name to revoke', ['revoke', 'a\u0001b'], /^leasehold: name: must not contain control characters/],
    ['an endpoint without a scheme', ['--endpoint', 'localhost:8000', 'list'], /^leasehold: --endpoint: "localhost:8000" is not an http\(s\) URL/],
  ])('rejects %s with exit code 2 and no stack trace', async (_what, args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('explains a missing table and an unreachable endpoint without a stack trace', async () => {
    const missing = await cli('--table', 'no-such-table', 'status', 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^leasehold: Lease table "no-such-table" was not found/);
    const unreachable = await run(process.execPath, ['--import', 'tsx', entry, '--endpoint', 'http://127.0.0.1:9', 'status', 'x'], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(unreachable).toMatchObject({ code: 1, stderr: expect.stringMatching(/^leasehold: Could not connect to DynamoDB/) });
  });

  it('points at its own create-table command when the table is missing', async () => {
    const missing = uniqueTableName('cli-missing');
    const result = await cli('--table', missing, 'list');
    const command = `leasehold --endpoint ${backend.endpoint} --table ${missing} create-table`;
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain(`Create it with \`${command}\``);
    expect(result.stderr).not.toMatch(/createLeaseTable|construct/);
    // The advice is a command that works as printed.
    const created = await run(process.execPath, ['--import', 'tsx', entry, ...command.split(' ').slice(1)], { env });
    expect(created.stdout).toBe(`table ${missing} is ready\n`);
  });

  it.each([['list'], ['reap'], ['watch', '--poll', '100ms']])('says a table with another key is not a lease table (%s)', async (...args) => {
    const result = await cli('--table', otherKeyTable, ...args);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(new RegExp(`^leasehold: Table "${otherKeyTable}" is not a leasehold lease table: its key is id \\(HASH\\)`));
  });

  it.each([['status', 'x'], ['acquire', 'x', '--lease', '30s'], ['release', 'x'], ['revoke', 'x']])(
    'says a table whose key is a number is not a lease table (%s)',
    async (...args) => {
      const result = await cli('--table', numberKeyTable, ...args);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result.stderr).toMatch(new RegExp(`^leasehold: Table "${numberKeyTable}" is not a leasehold lease table: its key "name" is not a string`));
      expect(result.stderr).not.toContain('ValidationException');
    },
  );

  // The SDK warns only on Node < 22; on a newer Node this passes with or without the fix.
  it('does not print the AWS SDK notice about Node versions', async () => {
    const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...bare } = env;
    const result = await cliIn(bare, 'status', 'job');
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
    expect(result.stderr).toBe('');
  });

  it.each(['create-table', 'list', 'status', 'group', 'acquire', 'release', 'revoke', 'watch', 'reap'])('has --help for %s', async (command) => {
    const help = await cli(command, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: leasehold ${command}`));
  });
});
