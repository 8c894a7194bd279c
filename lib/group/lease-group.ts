/**
 * A lease group: a fleet of workers shares many named partitions, each worker owning about its
 * fair share, each partition a lease owned by the worker's session. One session heartbeat keeps
 * every partition a worker owns; the workers find each other through their session items (one
 * Query on the session index per round) and publish there what they own and what they ask for.
 *
 * Each round: read the members, plan (`planRound`, a pure function of that view), then take free
 * and dead members' partitions (in transactions of up to 100), publish handoff requests, and hand
 * over partitions others asked for: their work is told to stop, and the partition is released as
 * soon as it has (no waiting for expiry). Safety never rests on the plan: every take is a
 * conditional write, and a dead member's partitions are taken only by a transaction that checks
 * its session is past expiry by the contender rule.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { settledOrAfter, sleep } from '../core/clock.js';
import { InvalidArgumentError, LeaseLostError, TableNotFoundError, TableSchemaMismatchError, type LeaseLossReason } from '../core/errors.js';
import type { LeaseClient } from '../core/lease-client.js';
import type { OwnedLease } from '../core/owned-lease.js';
import type { LeaseRecord, SessionOwner } from '../core/lease-record.js';
import type { TakeItem } from '../core/owned-lease-store.js';
import { checkDurationMs, rejectUnknownKeys } from '../core/validate.js';
import { Session, type SessionMember } from '../session/session.js';
import { partitionLeaseName } from '../session/names.js';
import { resolveGroupOptions, type LeaseGroupOptions, type ResolvedGroupOptions } from './options.js';
import { planRound, type MemberView, type Plan } from './plan.js';
import { publishedOf, type Published } from './published.js';

/** A partition this member owns, as its work sees it. */
export interface Partition {
  /** The partition's name (one of the group's `names`). */
  readonly name: string;
  /** The lease name it is held under: `<group>#partition#<name>`. */
  readonly leaseName: string;
  /** Grows with every acquisition of this partition, by anyone, forever: pass it to every resource the work changes. */
  readonly fencingToken: number;
  /**
   * Aborts when the work must stop: the partition is being handed over or the group closes
   * (finish, then return: it is released once the work settles), or it may be lost already.
   */
  readonly signal: AbortSignal;
  /** The lease itself, for `fencedWrite`. */
  readonly lease: OwnedLease;
}

/** How a partition stopped being this member's. */
export interface PartitionLoss {
  /** The partition's name. */
  readonly name: string;
  /** The fencing token it was held with. */
  readonly fencingToken: number;
  /** `handedOff` to another member, `released` by close or a change of names, or lost with its session (`expired`, `taken`). */
  readonly reason: 'handedOff' | LeaseLossReason;
}

/** A member of the group as this member last saw it. */
export interface GroupMember {
  /** The member's session lease name. */
  readonly session: string;
  /** Whether its session is alive by this member's clock. */
  readonly alive: boolean;
  /** Its weight. */
  readonly weight: number;
  /** How many partitions it published that it owns. */
  readonly owns: number;
  /** Its fair share now. */
  readonly target: number;
}

/** Events of a {@link LeaseGroup}. */
export interface LeaseGroupEvents {
  /** This member took a partition; its work starts now. */
  acquired: [partition: Partition];
  /** A partition stopped being this member's. */
  lost: [loss: PartitionLoss];
  /** Every alive member owns its fair share (emitted when that becomes true). */
  balanced: [members: readonly GroupMember[]];
  /** A round, a release or a partition's work failed; the group goes on. */
  error: [error: unknown];
}

interface Running {
  readonly partition: Partition;
  readonly stop: AbortController;
  readonly done: Promise<void>;
  handingOff: boolean;
}

/** How long past a member's first possible death the round that may take its partitions runs. */
const DEATH_CHECK_MARGIN_MS = 50;

/**
 * A member of a lease group. `run(work)` joins the group and calls `work` for every partition this
 * member takes, until {@link LeaseGroup.close}; the partition is released (or handed over) once its
 * work settles.
 *
 *   const group = new LeaseGroup({ leases, group: 'shards', names: { count: 64 } });
 *   closeOnSignals(group);
 *   await group.run(async ({ name, fencingToken, signal }) => { while (!signal.aborted) await poll(name, fencingToken); });
 */
export class LeaseGroup extends EventEmitter<LeaseGroupEvents> {
  /** The group's name. */
  readonly group: string;
  /** The group's partitions. */
  readonly names: readonly string[];

  private readonly nameSet: ReadonlySet<string>;
  private readonly leases: LeaseClient;
  private readonly options: Omit<ResolvedGroupOptions, 'leases' | 'group' | 'names'>;
  private readonly running = new Map<string, Running>();
  private session: Session | undefined;
  private joined = false;
  private wants: readonly string[] = [];
  private lastPublished = '';
  private members: GroupMember[] = [];
  private wasBalanced = false;
  private closing: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  private drainMsOnClose: number | undefined;
  /** Owners learned from refused takes, for partitions their owners had not published yet. */
  private readonly learned = new Map<string, string>();

  constructor(options: LeaseGroupOptions) {
    super();
    const { leases, group, names, ...settings } = resolveGroupOptions(options);
    this.leases = leases;
    this.group = group;
    this.names = names;
    this.nameSet = new Set(names);
    this.options = settings;
  }

  /** The partitions this member owns now, by name. */
  owned(): string[] {
    return [...this.running.keys()].sort();
  }

  /** The group's members as this member last read them, with their fair shares. */
  view(): readonly GroupMember[] {
    return this.members;
  }

  /** This member's session (its lease name and generation), once joined. */
  get sessionName(): string | undefined {
    return this.session?.name;
  }

  /**
   * Joins the group and runs `work` for every partition this member takes, until {@link close}.
   * Resolves once closed and every partition released. If this member's session is lost (its
   * renewals failed past its deadline), every partition's signal aborts, and it joins again with
   * a new session. Throws `TableNotFoundError` or `TableSchemaMismatchError` (nothing written)
   * when the table is missing or lacks the session index.
   */
  async run(work: (partition: Partition) => Promise<void>): Promise<void> {
    if (typeof work !== 'function') throw new InvalidArgumentError('work', 'must be a function');
    const { clock } = this.leases;
    while (!this.stopped.signal.aborted) {
      const session = await this.join();
      if (!session) break;
      while (!this.stopped.signal.aborted && session.isHeld) {
        let waitMs = this.options.busyRoundMs;
        try {
          waitMs = await this.round(session, work);
        } catch (error) {
          this.report(error);
        }
        await sleep(clock, waitMs, AbortSignal.any([this.stopped.signal, session.signal])).catch(() => {});
      }
      if (!session.isHeld && !this.stopped.signal.aborted) await this.settleAll(0);
    }
    // A failed release is close()'s to report, to whoever called it.
    await this.closing?.catch(() => {});
  }

  /**
   * Leaves the group: stops balancing, aborts every partition's signal, waits up to `drainMs` for
   * the work to settle, then releases every partition and the session, so the other members take
   * them at once. Idempotent; `run` resolves after it.
   */
  close(options: { drainMs?: number } = {}): Promise<void> {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
    rejectUnknownKeys('options', options, ['drainMs']);
    if (options.drainMs !== undefined) checkDurationMs('drainMs', options.drainMs);
    this.drainMsOnClose = options.drainMs;
    this.closing ??= (async () => {
      this.stopped.abort();
      await this.settleAll(this.drainMsOnClose ?? this.options.drainMs);
      await this.session?.close();
    })();
    return this.closing;
  }

  private async join(): Promise<Session | undefined> {
    const { clock } = this.leases;
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        const session = await Session.open({
          leases: this.leases,
          group: this.group,
          leaseMs: this.options.leaseMs,
          data: { ...this.publication() },
          ...(this.options.id !== undefined && { id: this.options.id }),
        });
        if (this.stopped.signal.aborted) {
          // Closed while joining: close() found no session to end, so this one is ended here.
          await session.close().catch((error: unknown) => this.report(error));
          return undefined;
        }
        this.session = session;
        this.joined = true;
        this.lastPublished = JSON.stringify(session.data);
        this.learned.clear();
        return session;
      } catch (error) {
        // A first join fails at once, so a misconfigured member says so rather than waits; a
        // rejoin after a lost session keeps trying through outages, not through a missing table.
        if (!this.joined || isMisconfiguration(error)) throw error;
        this.report(error);
        await sleep(clock, Math.min(this.options.leaseMs, 250 * 2 ** attempt), this.stopped.signal).catch(() => {});
      }
    }
    return undefined;
  }

  /** One round; returns how long to wait before the next. */
  private async round(session: Session, work: (partition: Partition) => Promise<void>): Promise<number> {
    const members = await session.members();
    const plan = this.plan(session, members);
    const changed = plan.take.length > 0 || plan.handOff.length > 0 || plan.removed.length > 0;
    for (const name of [...plan.removed, ...plan.handOff]) void this.handOver(name, plan.removed.includes(name) ? 'released' : 'handedOff');
    if (plan.take.length > 0) await this.take(session, plan, members, work);
    await this.retireDead(session, members);
    this.wants = plan.want;
    await this.publish(session);
    if (plan.balanced && !this.wasBalanced) this.emit('balanced', this.members);
    this.wasBalanced = plan.balanced;
    if (!plan.balanced || changed || plan.want.length > 0) return this.options.busyRoundMs;
    return this.idleWait(session, members);
  }

  private plan(session: Session, members: readonly SessionMember[]): Plan {
    const views: MemberView[] = members
      .filter((member) => member.session !== session.name)
      .map((member) => ({ session: member.session, alive: member.alive, ...publishedOf(member.data) }));
    for (const [name, owner] of this.learned) {
      const view = views.find((candidate) => candidate.session === owner);
      if (!view || view.owns.includes(name)) this.learned.delete(name);
      else views[views.indexOf(view)] = { ...view, owns: [...view.owns, name] };
    }
    views.push({ session: session.name, alive: true, weight: this.options.weight, owns: this.owned(), wants: this.wants });
    const plan = planRound({
      self: session.name,
      names: this.names,
      members: views,
      maxHandoffsInFlight: this.options.maxHandoffsInFlight,
      maxTakesPerRound: this.options.maxTakesPerRound,
    });
    this.members = views.map((view) => ({
      session: view.session,
      alive: view.alive,
      weight: view.weight,
      owns: view.owns.length,
      target: plan.targets.get(view.session) ?? 0,
    }));
    return plan;
  }

  private async take(session: Session, plan: Plan, members: readonly SessionMember[], work: (partition: Partition) => Promise<void>): Promise<void> {
    const generations = new Map(members.map((member) => [member.session, member.generation]));
    const alive = new Set(members.filter((member) => member.alive).map((member) => member.session));
    // An owner is known alive only in the generation it lives in now: a member that lost its
    // session and joined again does not own what its earlier generation held.
    const knownAlive = (owner: SessionOwner) =>
      owner.session === session.name ? owner.generation === session.generation : alive.has(owner.session) && generations.get(owner.session) === owner.generation;
    const items = plan.take.flatMap(({ name, from }) => {
      if (this.running.has(name)) return [];
      const generation = from === undefined ? undefined : generations.get(from);
      if (from !== undefined && generation === undefined) return [];
      return [{ name: partitionLeaseName(this.group, name), from: from === undefined ? undefined : { session: from, generation: generation! } }];
    });
    const first = await session.take(items);
    this.startAll(first.taken, work);
    // A refusal names the partition's owner exactly. One not known alive (gone from the index, or
    // an earlier generation of a member's session) may be dead: the take's check decides.
    const retry: TakeItem[] = [];
    for (const [leaseName, current] of first.refused) {
      const owner = current?.state === 'held' ? current.owner : undefined;
      if (!owner) continue;
      const askedAlready = items.some((item) => item.name === leaseName && item.from?.session === owner.session && item.from.generation === owner.generation);
      if (!knownAlive(owner) && !askedAlready) retry.push({ name: leaseName, from: owner });
      else if (knownAlive(owner)) this.learn(this.partitionOf(leaseName), current);
    }
    if (retry.length === 0) return;
    const second = await session.take(retry);
    this.startAll(second.taken, work);
    for (const [leaseName, current] of second.refused) if (current?.owner && knownAlive(current.owner)) this.learn(this.partitionOf(leaseName), current);
  }

  private startAll(leases: readonly OwnedLease[], work: (partition: Partition) => Promise<void>): void {
    for (const lease of leases) {
      const name = this.partitionOf(lease.name);
      // Lost already (its session ended while the take was answered): nothing to run.
      if (!lease.isHeld) continue;
      if (name === undefined || this.stopped.signal.aborted || this.running.has(name)) {
        void lease.release().catch((error: unknown) => this.report(error));
        continue;
      }
      this.start(name, lease, work);
    }
  }

  /** The partition a lease name stands for, if it is one of this group's. */
  private partitionOf(leaseName: string): string | undefined {
    const prefix = partitionLeaseName(this.group, '');
    const name = leaseName.startsWith(prefix) ? leaseName.slice(prefix.length) : undefined;
    return name !== undefined && this.nameSet.has(name) ? name : undefined;
  }

  /**
   * Marks expired the sessions of members dead for two lease periods past the moment they could
   * first be judged dead, so the session index does not keep them (the reaper does the same where
   * it is deployed). Only the first alive member by session name does it, to spare writes. A
   * write conditional on the revision read: a member that renewed since is left alone. Their
   * partitions stay takeable: the take's check judges a session by its item, not by the index.
   */
  private async retireDead(session: Session, members: readonly SessionMember[]): Promise<void> {
    const alive = members.filter((member) => member.alive).map((member) => member.session);
    alive.push(session.name);
    if (alive.sort()[0] !== session.name) return;
    const { clock, skewMs } = this.leases;
    const longDead = members.filter((member) => !member.alive && member.expiresAt + skewMs + 2 * this.options.leaseMs < clock.wallNow());
    await Promise.allSettled(longDead.map((member) => session.retire(member)));
  }

  /** Remembers who owns a partition a take found held, until its owner publishes it. */
  private learn(name: string | undefined, current: LeaseRecord | undefined): void {
    if (name !== undefined && current?.state === 'held' && current.owner) this.learned.set(name, current.owner.session);
  }

  private start(name: string, lease: OwnedLease, work: (partition: Partition) => Promise<void>): void {
    const stop = new AbortController();
    const partition: Partition = { name, leaseName: lease.name, fencingToken: lease.fencingToken, signal: AbortSignal.any([lease.signal, stop.signal]), lease };
    const done = (async () => {
      try {
        await work(partition);
      } catch (error) {
        if (!partition.signal.aborted) this.report(error);
      }
    })();
    this.running.set(name, { partition, stop, done, handingOff: false });
    lease.signal.addEventListener(
      'abort',
      () => {
        if (this.running.get(name)?.partition !== partition) return;
        this.running.delete(name);
        const reason = (lease.signal.reason as LeaseLostError).reason;
        this.emit('lost', { name, fencingToken: lease.fencingToken, reason: this.handedOff.has(partition) ? 'handedOff' : reason });
        this.handedOff.delete(partition);
      },
      { once: true },
    );
    this.emit('acquired', partition);
  }

  private readonly handedOff = new WeakSet<Partition>();

  /** Tells a partition's work to stop, waits for it (up to `drainMs`), then releases the partition. */
  private async handOver(name: string, reason: 'handedOff' | 'released'): Promise<void> {
    const running = this.running.get(name);
    if (!running || running.handingOff) return;
    running.handingOff = true;
    if (reason === 'handedOff') this.handedOff.add(running.partition);
    running.stop.abort(new LeaseLostError(running.partition.leaseName, running.partition.fencingToken, 'released'));
    await settledOrAfter(this.leases.clock, running.done, this.options.drainMs);
    await running.partition.lease.release().catch((error: unknown) => this.report(error));
  }

  /** Stops every partition's work and waits up to `drainMs` for it; the releases follow. */
  private async settleAll(drainMs: number): Promise<void> {
    const all = [...this.running.values()];
    for (const running of all) running.stop.abort(new LeaseLostError(running.partition.leaseName, running.partition.fencingToken, 'released'));
    await settledOrAfter(this.leases.clock, Promise.allSettled(all.map((running) => running.done)), drainMs);
    await Promise.allSettled(all.map((running) => running.partition.lease.release()));
  }

  private publication(): Published {
    return { weight: this.options.weight, owns: this.owned(), wants: this.wants };
  }

  /** Publishes what this member owns and wants, when it changed: one write, which also renews the session. */
  private async publish(session: Session): Promise<void> {
    const data = this.publication();
    const text = JSON.stringify(data);
    if (text === this.lastPublished) return;
    await session.publish({ ...data });
    this.lastPublished = text;
  }

  /**
   * How long a balanced member may wait: until the soonest moment another member could be judged
   * dead (when its partitions may be taken), or `idleRoundMs`.
   */
  private idleWait(session: Session, members: readonly SessionMember[]): number {
    const { clock, skewMs } = this.leases;
    const now = clock.wallNow();
    const soonestDeath = Math.min(
      ...members.filter((member) => member.alive && member.session !== session.name).map((member) => member.expiresAt + skewMs + DEATH_CHECK_MARGIN_MS - now),
    );
    return Math.max(10, Math.min(this.options.idleRoundMs, soonestDeath));
  }

  private report(error: unknown): void {
    // Without a listener an `error` event would throw; the group goes on either way.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** A failure no retry can mend: the table is missing or has another shape, or an option is bad. */
function isMisconfiguration(error: unknown): boolean {
  return error instanceof TableNotFoundError || error instanceof TableSchemaMismatchError || error instanceof InvalidArgumentError;
}
