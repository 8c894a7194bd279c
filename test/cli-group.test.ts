/**
 * The `leasehold` CLI's view of sessions and lease groups, as users run it: a subprocess against
 * DynamoDB Local, while real `LeaseGroup` members share partitions in this process. `group` shows
 * the members and the balance, `list` marks sessions and the leases held through them, `status`
 * names a lease's owner session. Taking dead members' partitions needs transactions: dynalite has
 * none, so this runs on the reference backend.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseAttribute as A, ReaperIndex } from '../lib/core/schema.js';
import { createLeaseTable, LeaseClient, LeaseGroup, ManualClock, type Partition } from '../lib/index.js';
import { clientFor, referenceBackend, uniqueTableName } from './support/backends.js';

const exec = promisify(execFile);
const entry = join(import.meta.dirname, '..', 'bin', 'leasehold.ts');
const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** What `group --json` prints, as far as these tests read it. */
interface GroupJson {
  group: string;
  partitions: { from: string; total: number };
  members: { id: string; holderId: string; generation: number; alive: boolean; owns: string[]; target: number | null; weight: number }[];
  balance: { alive: number; dead: number; maxOwned: number | null; minOwned: number | null; balanced: boolean; ownedByDead: number; unowned: number | null };
}

/** Work that runs until its partition's signal aborts. */
const untilStopped = (partition: Partition) => new Promise<void>((resolve) => partition.signal.addEventListener('abort', () => resolve(), { once: true }));

const backend = referenceBackend();

describe.skipIf(!backend.features.transactions)('leasehold CLI on lease groups', () => {
  const table = uniqueTableName('cli-group');
  const noSessionIndexTable = uniqueTableName('cli-no-sessions');
  const cliAt = async (endpoint: string, ...args: string[]): Promise<Run> => {
    try {
      const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', entry, '--endpoint', endpoint, '--table', table, ...args], { env, timeout: 20_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as Run;
      return { code, stdout, stderr };
    }
  };
  const cli = (...args: string[]) => cliAt(backend.endpoint, ...args);
  const groupJson = async (...args: string[]): Promise<GroupJson> => JSON.parse((await cli('--json', 'group', ...args)).stdout) as GroupJson;

  let client: DynamoDBClient;
  const members: LeaseGroup[] = [];
  const member = (group: string, id: string, options: { clock?: ManualClock; count?: number } = {}) => {
    const leases = new LeaseClient({ tableName: table, client, holderId: `worker-${id}`, skewMs: 200, ...(options.clock && { clock: options.clock }) });
    const instance = new LeaseGroup({ leases, group, id, names: { count: options.count ?? 6 }, leaseMs: 1_500 });
    members.push(instance);
    void instance.run(untilStopped);
    return instance;
  };

  /** Polls `group --json` until `done` holds: the members balance on their own timers. */
  const groupUntil = async (group: string, done: (view: GroupJson) => boolean, ...args: string[]): Promise<GroupJson> => {
    for (;;) {
      const view = await groupJson(group, ...args);
      if (done(view)) return view;
      await delay(100);
    }
  };

  beforeAll(async () => {
    client = clientFor(backend);
    await createLeaseTable(client, table);
    // A lease table as versions before sessions made it: the reaper index, no session index.
    await client.send(
      new CreateTableCommand({
        TableName: noSessionIndexTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: A.name, AttributeType: 'S' },
          { AttributeName: ReaperIndex.partitionKey, AttributeType: 'N' },
          { AttributeName: ReaperIndex.sortKey, AttributeType: 'N' },
        ],
        KeySchema: [{ AttributeName: A.name, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: ReaperIndex.name,
            KeySchema: [
              { AttributeName: ReaperIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: ReaperIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    await Promise.allSettled(members.map((instance) => instance.close({ drainMs: 0 })));
    client.destroy();
  });

  describe('with two members over six partitions', () => {
    beforeAll(async () => {
      member('orders', 'a');
      member('orders', 'b');
      await groupUntil('orders', (view) => view.balance.alive === 2 && view.partitions.total === 6 && view.balance.balanced);
    });

    it('shows both members alive with three partitions each, balanced', async () => {
      const shown = await cli('group', 'orders');
      expect(shown).toMatchObject({ code: 0, stderr: '' });
      const lines = shown.stdout.split('\n');
      expect(lines[0]).toBe('group orders: 2 alive, 0 dead; 6 partitions (as its members published them)');
      expect(lines[1]).toMatch(/^SESSION\s+HOLDER\s+GENERATION\s+STATE\s+EXPIRES IN\s+OWNS\s+TARGET\s+WEIGHT\s+WANTS$/);
      expect(lines[2]).toMatch(/^a\s+worker-a\s+1\s+alive\s+\d+\.\ds\s+3\s+3\s+1\s+0$/);
      expect(lines[3]).toMatch(/^b\s+worker-b\s+1\s+alive\s+\d+\.\ds\s+3\s+3\s+1\s+0$/);
      expect(shown.stdout).toMatch(/spread \(max − min owned, alive\)\s+0 \(3 to 3\)\n/);
      expect(shown.stdout).toMatch(/balanced \(each at its target\)\s+yes\n/);
      expect(shown.stdout).toMatch(/owned by dead members\s+0\n/);
      expect(shown.stdout).not.toMatch(/unowned|NaN|Invalid Date/);
    });

    it('prints the same as JSON', async () => {
      const view = await groupJson('orders');
      expect(view.members.map(({ id, holderId, alive, target }) => ({ id, holderId, alive, target }))).toEqual([
        { id: 'a', holderId: 'worker-a', alive: true, target: 3 },
        { id: 'b', holderId: 'worker-b', alive: true, target: 3 },
      ]);
      expect(view.members.flatMap((m) => m.owns).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
      expect(view.balance).toMatchObject({ alive: 2, dead: 0, maxOwned: 3, minOwned: 3, balanced: true, ownedByDead: 0, unowned: null });
    });

    it('counts partitions nobody owns, and the targets, against --count and --names', async () => {
      const counted = await groupJson('orders', '--count', '8');
      expect(counted.partitions).toEqual({ from: '--count', total: 8 });
      expect(counted.members.map((m) => m.target)).toEqual([4, 4]);
      expect(counted.balance).toMatchObject({ balanced: false, unowned: 2 });
      expect((await cli('group', 'orders', '--count', '8')).stdout).toMatch(/\nunowned\s+2\n/);
      const named = await groupJson('orders', '--names', '0,1,2,3,4,5');
      expect(named.balance).toMatchObject({ balanced: true, unowned: 0 });
    });

    it('lists the sessions and the partitions held through them, with their owner', async () => {
      const listed = await cli('list');
      expect(listed).toMatchObject({ code: 0, stderr: '' });
      expect(listed.stdout).toMatch(/^NAME\s+STATE\s+HOLDER\s+TOKEN\s+EXPIRES IN\s+SESSION\n/);
      expect(listed.stdout).toMatch(/\norders#partition#0\s+held\s+worker-[ab]\s+\d+\s+with session\s+orders#session#[ab] \(generation 1\)\n/);
      expect(listed.stdout).toMatch(/\norders#session#a\s+held\s+worker-a\s+1\s+\d+\.\ds\s+session of orders: owns 3, wants 0\n/);
      expect(listed.stdout).not.toMatch(/NaN|Invalid Date|, dead/);

      const sessions = await cli('list', '--sessions');
      expect(sessions.stdout).toMatch(/^GROUP\s+SESSION\s+HOLDER\s+GENERATION\s+STATE\s+EXPIRES IN\s+OWNS\s+WANTS\s+WEIGHT\n/);
      expect(sessions.stdout).toMatch(/\norders\s+a\s+worker-a\s+1\s+held\s+\d+\.\ds\s+3\s+0\s+1\n/);
      expect(sessions.stdout).not.toContain('#partition#');

      const json = JSON.parse((await cli('--json', 'list')).stdout) as { name: string; owner?: unknown; session?: unknown; expiresAt: unknown }[];
      expect(json.find((lease) => lease.name === 'orders#session#b')).toMatchObject({ session: { group: 'orders', id: 'b', owns: 3 } });
      // A session-owned lease has no expiry of its own: NaN prints as null in JSON.
      expect(json.find((lease) => lease.name === 'orders#partition#0')).toMatchObject({ owner: { generation: 1 }, expiresAt: null });
    });

    it('shows the owner session of a partition in status, as text and JSON', async () => {
      const status = await cli('status', 'orders#partition#1');
      expect(status).toMatchObject({ code: 0, stderr: '' });
      expect(status.stdout).toMatch(
        /^orders#partition#1: held by worker-[ab] \(token \d+\) through session orders#session#[ab] \(generation 1\); the session is alive, expires in \d+\.\ds\n$/,
      );
      const json = JSON.parse((await cli('--json', 'status', 'orders#partition#1')).stdout) as Record<string, unknown>;
      expect(json).toMatchObject({ state: 'held', owner: { generation: 1 }, ownerSession: { alive: true, state: 'held' } });
      expect((await cli('status', 'orders#session#a')).stdout).toMatch(/^orders#session#a: held by worker-a \(token 1\), expires in \d+\.\ds; a session of orders, owns 3\n$/);
    });
  });

  it('shows a member whose clock stopped as dead, and its partitions as owned by a dead member', async () => {
    // Its timers never fire: it takes every partition in its first round, then never renews.
    member('frozen', 'stuck', { clock: new ManualClock({ wallStart: Date.now() }), count: 4 });
    const view = await groupUntil('frozen', (seen) => seen.balance.dead === 1, '--count', '4', '--skew', '100ms');
    expect(view.members).toMatchObject([{ id: 'stuck', alive: false, target: null, owns: ['0', '1', '2', '3'] }]);
    expect(view.balance).toMatchObject({ alive: 0, dead: 1, balanced: false, ownedByDead: 4, unowned: 0, maxOwned: null });
    const shown = await cli('group', 'frozen', '--count', '4', '--skew', '100ms');
    expect(shown.stdout).toMatch(/\nstuck\s+worker-stuck\s+1\s+dead\s+-\d+\.\ds\s+4\s+-\s+1\s+0\n/);
    expect(shown.stdout).toMatch(/owned by dead members\s+4\n/);
    // list and status judge the owner dead by the client's skew allowance (1 s by default).
    for (;;) {
      const listed = await cli('list');
      if (/frozen#partition#0 .+ \(generation 1, dead\)\n/.test(listed.stdout)) break;
      await delay(100);
    }
    expect((await cli('status', 'frozen#partition#2')).stdout).toMatch(/; the session is dead \(expired|; the session is dead \(past its expiry/);
  });

  it('shows a group without members', async () => {
    expect(await cli('group', 'nobody')).toMatchObject({ code: 0, stdout: 'group nobody: no members\n' });
    expect((await cli('group', 'nobody', '--count', '3')).stdout).toBe('group nobody: no members\nunowned  3 of 3\n');
  });

  it.each([
    ['an empty group', ['group', ''], /^leasehold: group: must be a non-empty string\n$/],
    ['a group with "#"', ['group', 'or#ders'], /^leasehold: group: must not contain "#"\n$/],
    ['a --count of 0', ['group', 'orders', '--count', '0'], /^leasehold: --count: "0" is not a whole number from 1 to 100000\n$/],
    ['a --count that is not a number', ['group', 'orders', '--count', 'six'], /^leasehold: --count: "six" is not a whole number/],
    ['a fractional --count', ['group', 'orders', '--count', '2.5'], /^leasehold: --count: "2.5" is not a whole number/],
    ['an empty name in --names', ['group', 'orders', '--names', 'a,,b'], /^leasehold: --names: "a,,b" has an empty name/],
    ['a name twice in --names', ['group', 'orders', '--names', 'a,b,a'], /^leasehold: --names: lists "a" twice\n$/],
    ['--count with --names', ['group', 'orders', '--count', '3', '--names', 'a'], /cannot be used with option '--names/],
    ['a bad --skew', ['group', 'orders', '--skew', 'soon'], /^leasehold: --skew: "soon" is not a duration/],
    ['a missing group', ['group'], /missing required argument 'group'/],
  ])('rejects %s with exit code 2, before sending anything', async (_what, args, message) => {
    const result = await cli(...args);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Refused before any request: an endpoint where nothing listens gets the same answer.
    expect(await cliAt('http://127.0.0.1:9', ...args)).toMatchObject({ code: 2, stderr: result.stderr });
  });

  it('says a table without the session index lacks it, and exits 1', async () => {
    const result = await cli('--table', noSessionIndexTable, 'group', 'orders');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(new RegExp(`^leasehold: Table "${noSessionIndexTable}" is not a leasehold lease table: it lacks the session index "leasehold-sessions"`));
    // Plain leases need no session index: list still works there.
    expect(await cli('--table', noSessionIndexTable, 'list')).toMatchObject({ code: 0, stdout: `no leases in ${noSessionIndexTable}\n` });
  });

  it('lists the group command in its help', async () => {
    const help = await cli('--help');
    expect(help.stdout).toMatch(/\n\s+group \[options\] <group>\s+show a lease group's members/);
    const own = await cli('group', '--help');
    expect(own).toMatchObject({ code: 0 });
    expect(own.stdout).toMatch(/^Usage: leasehold group \[options\] <group>/);
    expect(own.stdout).toMatch(/--count <n>[\s\S]*--names <a,b,c>[\s\S]*--skew <duration>/);
    expect((await cli('list', '--help')).stdout).toMatch(/--sessions/);
  });
});
