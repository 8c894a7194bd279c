/**
 * A lease group as `leasehold group` shows it: from one read of the group's sessions, each
 * member's state, what it published and its fair share, and the group's balance. A pure function
 * of that read and the CLI's clock, judged by the rules the members judge each other by.
 *
 * @module
 */
import type { LeaseRecord } from '../lib/core/lease-record.js';
import { fairShares } from '../lib/group/plan.js';
import { publishedOf } from '../lib/group/published.js';
import { sessionAlive, sessionNameOf } from './sessions.js';

/** Which partitions the view counts: every one the members published, or the group's own list. */
export type PartitionSource = { readonly from: 'published' } | { readonly from: '--count' | '--names'; readonly names: readonly string[] };

/** One member of the group, as the CLI judges it. */
export interface MemberView {
  /** The session's lease name. */
  readonly session: string;
  /** The session's id within the group. */
  readonly id: string;
  readonly holderId: string;
  /** The session lease's fencing token. */
  readonly generation: number;
  /** Held, and not past its expiry and the skew allowance on the CLI's wall clock. */
  readonly alive: boolean;
  /** Wall-clock epoch ms, as the session wrote it. */
  readonly expiresAt: number;
  readonly weight: number;
  /** The partitions it published it owns (among the counted ones). */
  readonly owns: readonly string[];
  /** The partitions it asked their owners to hand over. */
  readonly wants: readonly string[];
  /** Its fair share of the partitions now; `null` for a dead member. */
  readonly target: number | null;
}

/** The group's balance over its alive members. */
export interface Balance {
  readonly alive: number;
  readonly dead: number;
  /** The partitions counted. */
  readonly partitions: number;
  /** The most and fewest partitions an alive member owns; `null` without alive members. */
  readonly maxOwned: number | null;
  readonly minOwned: number | null;
  /** Every alive member owns exactly its fair share (max − min ≤ 1 when weights are equal). */
  readonly balanced: boolean;
  /** Partitions only dead members list: a live member takes each once it judges the owner dead. */
  readonly ownedByDead: number;
  /** Partitions more than one alive member lists (a view read mid-handoff, or a bug). */
  readonly listedTwice: number;
  /** With `--count` or `--names`: the partitions no member lists. */
  readonly unowned: number | null;
  /** With `--count` or `--names`: partitions members list that are not among them. */
  readonly unknown: number | null;
}

export interface GroupView {
  readonly group: string;
  readonly partitions: { readonly from: PartitionSource['from']; readonly total: number };
  readonly members: readonly MemberView[];
  readonly balance: Balance;
}

/** The group `group` from its session records, judged at wall-clock `now` with `skewMs` of skew allowed. */
export function groupView(group: string, sessions: readonly LeaseRecord[], source: PartitionSource, now: number, skewMs: number): GroupView {
  const read = sessions.map((record) => ({ record, alive: sessionAlive(record, now, skewMs), ...publishedOf(record.data) }));
  const universe = new Set(source.from === 'published' ? read.flatMap((member) => member.owns) : source.names);
  const alive = read.filter((member) => member.alive);
  const counted = (owns: readonly string[]) => owns.filter((name) => universe.has(name));
  const targets = fairShares(universe.size, alive.map((m) => ({ session: m.record.name, weight: m.weight, owned: counted(m.owns).length })));
  const members = read.map(({ record, alive, weight, owns, wants }) => ({
    session: record.name,
    id: sessionNameOf(record.name)?.id ?? record.name,
    holderId: record.holderId,
    generation: record.fencingToken,
    alive,
    expiresAt: record.expiresAt,
    weight,
    owns: counted(owns),
    wants,
    target: alive ? (targets.get(record.name) ?? 0) : null,
  }));
  const aliveOwned = alive.flatMap((m) => counted(m.owns));
  const byAlive = new Set(aliveOwned);
  const byDead = new Set(read.filter((m) => !m.alive).flatMap((m) => counted(m.owns)).filter((name) => !byAlive.has(name)));
  const ownedCounts = members.filter((m) => m.alive).map((m) => m.owns.length);
  const given = source.from !== 'published';
  const listed = new Set(read.flatMap((m) => m.owns));
  const balance: Balance = {
    alive: alive.length,
    dead: read.length - alive.length,
    partitions: universe.size,
    maxOwned: ownedCounts.length ? Math.max(...ownedCounts) : null,
    minOwned: ownedCounts.length ? Math.min(...ownedCounts) : null,
    balanced: members.some((m) => m.alive) && members.every((m) => !m.alive || m.owns.length === m.target),
    ownedByDead: byDead.size,
    listedTwice: aliveOwned.length - byAlive.size,
    unowned: given ? [...universe].filter((name) => !byAlive.has(name) && !byDead.has(name)).length : null,
    unknown: given ? [...listed].filter((name) => !universe.has(name)).length : null,
  };
  return { group, partitions: { from: source.from, total: universe.size }, members, balance };
}
