/**
 * A lease group's plan for one round: from one read of the group's member sessions, what this
 * worker takes, asks for and hands over. A pure function of that view (no I/O, no clock, no
 * randomness, and nothing depends on the order members, names or lists arrive in), so every
 * worker that read the same view computes the same plan for everyone, and no two of them are
 * assigned the same partition. Workers whose views differ may still collide; the conditional
 * writes keep that safe. The plan is about balance, the store about safety.
 *
 * One round, in order:
 * 1. Ownership: a partition belongs to the earliest alive member (by session) listing it, else
 *    to the earliest dead one ("dead-owned"), else it is free.
 * 2. Targets: the partitions shared over the alive members by weight, largest remainder.
 * 3. Orphans (dead-owned and free) go to the members below target: first to a member that asked
 *    for one (a handoff just released), then dead-owned before free, round-robin by session.
 * 4. What members still lack they ask of members above target, one surplus partition each: a
 *    request already published keeps its partition; the rest are spread over the owners.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js';

/** One member of the group as the planner sees it. */
export interface MemberView {
  /** The member's session lease name: unique; every tie is broken by it. */
  readonly session: string;
  /** Its relative capacity, > 0: weight 2 gets about twice the share of weight 1. */
  readonly weight: number;
  /** Partition names it owns, as it published them (for self: authoritative). */
  readonly owns: readonly string[];
  /** Partition names it asked their owners to hand over (its handoff requests). */
  readonly wants: readonly string[];
  /** False once its session is past expiry by the contender rule: its partitions may be taken. */
  readonly alive: boolean;
}

/** What {@link planRound} decides from. */
export interface PlanInput {
  /** My session; always present in `members` and alive. */
  readonly self: string;
  /** Every partition of the group (unique). */
  readonly names: readonly string[];
  /** The group's members as last read, in any order. */
  readonly members: readonly MemberView[];
  /** The most partitions I may be asking for at once (>= 1), so a new worker causes no stampede. */
  readonly maxHandoffsInFlight: number;
  /** The most partitions I take in one round (>= 1). */
  readonly maxTakesPerRound: number;
}

/** A partition to take: free (`from` undefined) or owned by the dead session `from`. */
export interface Take {
  /** The partition. */
  readonly name: string;
  /** The dead session that owns it, for the take's condition; undefined when it is free. */
  readonly from: string | undefined;
}

/** What one worker does this round. */
export interface Plan {
  /** Every alive member's fair share: weighted, floor/ceil (largest remainder). */
  readonly targets: ReadonlyMap<string, number>;
  /** Partitions I should take now: free ones (`from` undefined) and dead members' ones. */
  readonly take: readonly Take[];
  /** Partitions I should ask their (over-target, alive) owners to hand over: my `wants` to publish. */
  readonly want: readonly string[];
  /** My partitions to hand over now (finish, then release): an alive member below target wants them and I am over target. */
  readonly handOff: readonly string[];
  /** Partitions I list that are no longer among `names` (the group's config changed): release them. They count toward no share. */
  readonly removed: readonly string[];
  /** Every alive member owns exactly its target (so max − min ≤ 1 for equal weights). */
  readonly balanced: boolean;
}

/** Fractions of a share closer than this are a tie: float division must not outrank "owns more". */
const FRACTION_TIE = 1e-9;

/**
 * Decides one round for `input.self`. Throws {@link InvalidArgumentError} when `self` is not an
 * alive member, sessions or names repeat, a weight is not > 0, or a cap is not a positive integer.
 */
export function planRound(input: PlanInput): Plan {
  checkInput(input);
  const members = [...input.members].sort((a, b) => compare(a.session, b.session));
  const alive = members.filter((member) => member.alive);
  const nameSet = new Set(input.names);
  const view = readOwnership(input.names, nameSet, members);
  const ownedCount = (session: string) => view.owned.get(session)?.length ?? 0;
  const targets = fairShares(input.names.length, alive.map((m) => ({ session: m.session, weight: m.weight, owned: ownedCount(m.session) })));

  // What each member below target still lacks, in session order; the steps below draw it down.
  const lacking = new Map<string, number>();
  for (const { session } of alive) {
    const lack = (targets.get(session) ?? 0) - ownedCount(session);
    if (lack > 0) lacking.set(session, lack);
  }
  const wants = new Map(alive.map((m) => [m.session, uniqueSorted(m.wants.filter((name) => nameSet.has(name)))]));
  const taken = assignOrphans(view, lacking, wants);
  const claims = claimSurplus(view, targets, lacking, wants);
  const self = members.find((member) => member.session === input.self);
  return {
    targets,
    take: (taken.get(input.self) ?? []).slice(0, input.maxTakesPerRound),
    want: (claims.wantedBy.get(input.self) ?? []).slice(0, input.maxHandoffsInFlight),
    handOff: claims.handOffBy.get(input.self) ?? [],
    removed: uniqueSorted((self?.owns ?? []).filter((name) => !nameSet.has(name))),
    balanced: alive.every((m) => ownedCount(m.session) === targets.get(m.session)),
  };
}

/**
 * Shares `total` partitions over `members` in proportion to weight, by largest remainder: each
 * gets the floor of its exact share, and the units left go to the largest fractions; ties go to
 * the member that owns more already (less movement), then to the earlier session. Equal weights
 * give floor/ceil of total / members. The shares sum to `total` (when there is a member).
 */
export function fairShares(total: number, members: readonly { session: string; weight: number; owned: number }[]): Map<string, number> {
  if (!Number.isInteger(total) || total < 0) throw new InvalidArgumentError('total', `must be a whole number >= 0, got ${total}`);
  for (const { session, weight } of members) {
    if (!(Number.isFinite(weight) && weight > 0)) throw new InvalidArgumentError('weight', `must be a finite number > 0, got ${weight} for ${session}`);
  }
  checkUnique(members.map((m) => m.session));
  const sorted = [...members].sort((a, b) => compare(a.session, b.session));
  const weightSum = sorted.reduce((sum, m) => sum + m.weight, 0);
  const shares = sorted.map((member) => {
    const exact = (total * member.weight) / weightSum;
    return { member, share: Math.floor(exact), fraction: exact - Math.floor(exact) };
  });
  // Each floor is above its exact share less one, so fewer units are left than members: one pass.
  let left = total - shares.reduce((sum, s) => sum + s.share, 0);
  const byClaimToExtra = [...shares].sort((a, b) =>
    Math.abs(a.fraction - b.fraction) > FRACTION_TIE ? b.fraction - a.fraction : b.member.owned - a.member.owned || compare(a.member.session, b.member.session),
  );
  for (const s of byClaimToExtra) {
    if (left <= 0) break;
    s.share += 1;
    left -= 1;
  }
  return new Map(shares.map((s) => [s.member.session, s.share]));
}

/** Who owns what, as the members published it, restricted to the group's names. */
interface Ownership {
  /** Each partition's alive owner, where it has one. */
  readonly holder: ReadonlyMap<string, string>;
  /** The partitions each alive member counts as its own, sorted. */
  readonly owned: ReadonlyMap<string, readonly string[]>;
  /** Partitions only dead members list, sorted, each with the earliest such member. */
  readonly deadOwned: readonly Take[];
  /** Partitions nobody lists, sorted. */
  readonly free: readonly string[];
}

function readOwnership(names: readonly string[], nameSet: ReadonlySet<string>, sortedMembers: readonly MemberView[]): Ownership {
  const holder = new Map<string, string>();
  const deadHolder = new Map<string, string>();
  const owned = new Map<string, string[]>();
  // Stale views can list one partition twice; the earlier session wins, alive before dead.
  for (const member of sortedMembers) {
    if (!member.alive) continue;
    const mine: string[] = [];
    for (const name of member.owns) {
      if (nameSet.has(name) && !holder.has(name)) {
        holder.set(name, member.session);
        mine.push(name);
      }
    }
    owned.set(member.session, mine.sort(compare));
  }
  for (const member of sortedMembers) {
    if (member.alive) continue;
    for (const name of member.owns) {
      if (nameSet.has(name) && !holder.has(name) && !deadHolder.has(name)) deadHolder.set(name, member.session);
    }
  }
  const deadOwned: Take[] = [];
  const free: string[] = [];
  for (const name of [...names].sort(compare)) {
    if (holder.has(name)) continue;
    const from = deadHolder.get(name);
    if (from === undefined) free.push(name);
    else deadOwned.push({ name, from });
  }
  return { holder, owned, deadOwned, free };
}

/** Step 3: every member's orphans, drawing down `lacking`. */
function assignOrphans(view: Ownership, lacking: Map<string, number>, wants: ReadonlyMap<string, readonly string[]>): Map<string, Take[]> {
  const taken = new Map<string, Take[]>();
  const given = new Set<string>();
  const give = (session: string, take: Take) => {
    append(taken, session, take);
    given.add(take.name);
    lacking.set(session, (lacking.get(session) ?? 0) - 1);
  };
  const orphans = [...view.deadOwned, ...view.free.map((name) => ({ name, from: undefined }))];
  // A partition released for a handoff goes to the member that asked for it, not to whoever the
  // round-robin reaches first: otherwise the asker is left short and asks again.
  const orphanByName = new Map(orphans.map((orphan) => [orphan.name, orphan]));
  for (const [session, names] of wants) {
    for (const name of names) {
      const orphan = orphanByName.get(name);
      if ((lacking.get(session) ?? 0) > 0 && orphan !== undefined && !given.has(name)) give(session, orphan);
    }
  }
  // Dead-owned before free: their work has stopped since their owner died.
  roundRobin(orphans.filter((orphan) => !given.has(orphan.name)), lacking, give);
  return taken;
}

/** Step 4: who asks for which surplus partition, and what each owner hands over now. */
function claimSurplus(
  view: Ownership,
  targets: ReadonlyMap<string, number>,
  lacking: Map<string, number>,
  wants: ReadonlyMap<string, readonly string[]>,
): { wantedBy: Map<string, string[]>; handOffBy: Map<string, string[]> } {
  const surplus = new Map<string, number>();
  for (const [session, names] of view.owned) {
    const extra = names.length - (targets.get(session) ?? 0);
    if (extra > 0) surplus.set(session, extra);
  }
  const wantedBy = new Map<string, string[]>();
  const handOffBy = new Map<string, string[]>();
  const claimed = new Set<string>();
  const claim = (session: string, { name, owner }: { name: string; owner: string }) => {
    append(wantedBy, session, name);
    claimed.add(name);
    lacking.set(session, (lacking.get(session) ?? 0) - 1);
    surplus.set(owner, (surplus.get(owner) ?? 0) - 1);
  };
  // A request already published keeps its partition, so a handoff under way is not redirected;
  // only these are handed over now: the others' owners have not seen them asked for yet.
  for (const [session, names] of wants) {
    for (const name of names) {
      const owner = view.holder.get(name);
      if ((lacking.get(session) ?? 0) <= 0 || owner === undefined || owner === session) continue;
      if ((surplus.get(owner) ?? 0) <= 0 || claimed.has(name)) continue;
      claim(session, { name, owner });
      append(handOffBy, owner, name);
    }
  }
  // The rest: each owner's last partitions, interleaved across owners so that the first requests
  // (the ones the cap lets out) are spread over them rather than all put to one.
  const perOwner = [...surplus].map(([owner, extra]) => {
    const spare: { name: string; owner: string }[] = [];
    const names = view.owned.get(owner) ?? [];
    for (let i = names.length - 1; i >= 0 && spare.length < extra; i -= 1) {
      const name = names[i] as string;
      if (!claimed.has(name)) spare.push({ name, owner });
    }
    return spare;
  });
  const candidates = interleave(perOwner);
  roundRobin(candidates, lacking, claim);
  return { wantedBy, handOffBy };
}

/** Deals `items` in order to the members still lacking, in session order, each up to what it lacks. */
function roundRobin<T>(items: readonly T[], lacking: ReadonlyMap<string, number>, give: (session: string, item: T) => void): void {
  const turn = [...lacking.keys()].filter((session) => (lacking.get(session) ?? 0) > 0).sort(compare);
  let i = 0;
  for (const item of items) {
    const session = turn[i];
    if (session === undefined) return;
    give(session, item);
    if ((lacking.get(session) ?? 0) <= 0) turn.splice(i, 1);
    else i += 1;
    if (i >= turn.length) i = 0;
  }
}

/** First items of every list, then the second ones, and so on. */
function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  for (let k = 0; k < longest; k += 1) {
    for (const list of lists) if (k < list.length) out.push(list[k] as T);
  }
  return out;
}

function checkInput(input: PlanInput): void {
  checkUnique(input.members.map((member) => member.session));
  // A repeated name would be counted into the targets twice, and the group could never balance.
  if (new Set(input.names).size !== input.names.length) throw new InvalidArgumentError('names', 'must be unique');
  const self = input.members.find((member) => member.session === input.self);
  if (self === undefined) throw new InvalidArgumentError('self', `must be one of the members, got ${input.self}`);
  if (!self.alive) throw new InvalidArgumentError('self', `must be alive: a worker whose session expired must stop, not plan (${input.self})`);
  for (const cap of ['maxHandoffsInFlight', 'maxTakesPerRound'] as const) {
    if (!Number.isInteger(input[cap]) || input[cap] < 1) throw new InvalidArgumentError(cap, `must be a whole number >= 1, got ${input[cap]}`);
  }
}

function checkUnique(sessions: readonly string[]): void {
  const seen = new Set<string>();
  for (const session of sessions) {
    if (seen.has(session)) throw new InvalidArgumentError('members', `sessions must be unique, got ${session} twice`);
    seen.add(session);
  }
}

function append<T>(lists: Map<string, T[]>, key: string, item: T): void {
  const list = lists.get(key);
  if (list === undefined) lists.set(key, [item]);
  else list.push(item);
}

function uniqueSorted(names: readonly string[]): string[] {
  return [...new Set(names)].sort(compare);
}

/** Code-unit order: the same on every machine, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
