import { Option, type Command } from 'commander';
import { DEFAULT_SKEW_MS } from '../../lib/core/defaults.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, withDeadline } from '../../lib/core/deadline.js';
import { OwnedLeaseStore } from '../../lib/core/owned-lease-store.js';
import { checkGroupName, checkPartitionName } from '../../lib/session/names.js';
import { InvalidArgumentError, MAX_GROUP_PARTITIONS, systemClock } from '../../lib/index.js';
import type { Cli } from '../context.js';
import { durationOption, formatDuration } from '../duration.js';
import { groupView, type GroupView, type PartitionSource } from '../group-view.js';
import { textTable } from '../output.js';

interface GroupFlags {
  count?: number;
  names?: string[];
  skew: number;
}

export function groupCommand(program: Command, cli: Cli): void {
  program
    .command('group')
    .summary("show a lease group's members, what each owns, and its balance")
    .description(
      "Show a lease group's members (its sessions, from one Query of the session index) and its balance. Each member is judged " +
        'alive or dead by this machine\'s wall clock and --skew, as the members judge each other, and shown with the partitions ' +
        'it published it owns and wants, its weight and its fair share of the alive members. Without --count or --names the ' +
        'partitions counted are those the members published, so partitions nobody owns are not seen; with them, a partition no ' +
        'member lists counts as unowned (so do those of a member whose session the reaper has already marked expired).',
    )
    .argument('<group>', 'the group name (LeaseGroup `group`)')
    .addOption(new Option('--count <n>', 'the group has partitions "0" to "n-1" (LeaseGroup `names: { count }`)').argParser(countOption).conflicts('names'))
    .option('--names <a,b,c>', "the group's partition names, comma-separated (LeaseGroup `names`)", namesOption)
    .option('--skew <duration>', 'a member is dead once past its expiresAt + skew on this clock', durationOption('--skew'), DEFAULT_SKEW_MS)
    .action(async (group: string, flags: GroupFlags) => {
      checkGroupName('group', group);
      const source = sourceOf(group, flags);
      const { client, options, print } = await cli.openLeaseTable({ sessions: true });
      const store = new OwnedLeaseStore(client, options.table);
      const sessions = await store.sessions(group, (send) => withDeadline(systemClock, DEFAULT_REQUEST_TIMEOUT_MS, undefined, send));
      const view = groupView(group, sessions, source, Date.now(), flags.skew);
      print(groupText(view, Date.now()), view);
    });
}

function sourceOf(group: string, { count, names }: GroupFlags): PartitionSource {
  if (count !== undefined) return { from: '--count', names: Array.from({ length: count }, (_, index) => String(index)) };
  if (names === undefined) return { from: 'published' };
  for (const name of names) checkPartitionName('--names', group, name);
  return { from: '--names', names };
}

function groupText(view: GroupView, now: number): string {
  const { balance } = view;
  const counted = view.partitions.from === 'published' ? 'as its members published them' : `by ${view.partitions.from}`;
  const heading = `group ${view.group}: ${balance.alive} alive, ${balance.dead} dead; ${balance.partitions} partitions (${counted})`;
  if (view.members.length === 0) {
    return [`group ${view.group}: no members`, ...(balance.unowned === null ? [] : [`unowned  ${balance.unowned} of ${balance.partitions}`])].join('\n');
  }
  const members = textTable([
    ['SESSION', 'HOLDER', 'GENERATION', 'STATE', 'EXPIRES IN', 'OWNS', 'TARGET', 'WEIGHT', 'WANTS'],
    ...view.members.map((m) => [
      m.id,
      m.holderId,
      String(m.generation),
      m.alive ? 'alive' : 'dead',
      formatDuration(m.expiresAt - now),
      String(m.owns.length),
      m.target === null ? '-' : String(m.target),
      String(m.weight),
      String(m.wants.length),
    ]),
  ]);
  const spread = balance.maxOwned === null || balance.minOwned === null ? '- (no alive members)' : `${balance.maxOwned - balance.minOwned} (${balance.minOwned} to ${balance.maxOwned})`;
  const summary = textTable([
    ['spread (max − min owned, alive)', spread],
    ['balanced (each at its target)', balance.balanced ? 'yes' : 'no'],
    ['owned by dead members', String(balance.ownedByDead)],
    ...(balance.unowned === null ? [] : [['unowned', String(balance.unowned)]]),
    ...(balance.listedTwice > 0 ? [['listed by two alive members', String(balance.listedTwice)]] : []),
    ...(balance.unknown ? [[`listed but not in ${view.partitions.from}`, String(balance.unknown)]] : []),
  ]);
  return [heading, members, summary].join('\n');
}

/** `--count`, checked as `LeaseGroup` checks `names: { count }`. */
function countOption(text: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(count) || count < 1 || count > MAX_GROUP_PARTITIONS) {
    throw new InvalidArgumentError('--count', `"${text}" is not a whole number from 1 to ${MAX_GROUP_PARTITIONS}`);
  }
  return count;
}

/** `--names a,b,c`: non-empty, each once. Whether each makes a valid lease name is checked with the group. */
function namesOption(text: string): string[] {
  const names = text.split(',');
  if (names.some((name) => name.length === 0)) throw new InvalidArgumentError('--names', `"${text}" has an empty name; use e.g. --names a,b,c`);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new InvalidArgumentError('--names', `lists "${twice}" twice`);
  return names;
}
