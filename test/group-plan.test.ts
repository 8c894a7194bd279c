/**
 * A lease group's round plan, as a specification: fair shares, who takes which orphan, who asks
 * whom for what, who hands over; then whole fleets simulated round by round through joins,
 * deaths and stale views. Pure: no DynamoDB, no clock.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../lib/core/errors.js';
import { fairShares, planRound, type MemberView, type Plan, type PlanInput } from '../lib/group/plan.js';
import { seededRandom } from '../harness/local/random.js';

/** `count` partition names that sort in numeric order: p0000, p0001, ... */
function partitions(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `p${String(from + i).padStart(4, '0')}`);
}

function member(session: string, owns: readonly string[] = [], more: Partial<MemberView> = {}): MemberView {
  return { session, weight: 1, owns, wants: [], alive: true, ...more };
}

const CAPS = { maxHandoffsInFlight: 100, maxTakesPerRound: 100 };

function plan(self: string, names: readonly string[], members: readonly MemberView[], caps: Partial<PlanInput> = {}): Plan {
  return planRound({ self, names, members, ...CAPS, ...caps });
}

/** Every alive member's plan from the same view. */
function plansOf(names: readonly string[], members: readonly MemberView[], caps: Partial<PlanInput> = {}): Map<string, Plan> {
  return new Map(members.filter((m) => m.alive).map((m) => [m.session, plan(m.session, names, members, caps)]));
}

const NOTHING = { take: [], want: [], handOff: [], removed: [] };


function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('fairShares', () => {
  it('gives floor or ceil of total / members with equal weights, summing to total', () => {
    const shares = fairShares(10, [
      { session: 'a', weight: 1, owned: 0 },
      { session: 'b', weight: 1, owned: 0 },
      { session: 'c', weight: 1, owned: 0 },
    ]);
    expect(shares).toEqual(new Map([['a', 4], ['b', 3], ['c', 3]]));
  });

  it('gives the extra units to the members that own more already, then by session', () => {
    const shares = fairShares(10, [
      { session: 'a', weight: 1, owned: 2 },
      { session: 'b', weight: 1, owned: 5 },
      { session: 'c', weight: 1, owned: 3 },
      { session: 'd', weight: 1, owned: 5 },
    ]);
    expect(shares).toEqual(new Map([['a', 2], ['b', 3], ['c', 2], ['d', 3]]));
  });

  it('shares in proportion to weight', () => {
    expect(fairShares(8, [
      { session: 'a', weight: 2, owned: 0 },
      { session: 'b', weight: 1, owned: 0 },
      { session: 'c', weight: 1, owned: 0 },
    ])).toEqual(new Map([['a', 4], ['b', 2], ['c', 2]]));
    expect(fairShares(100, [
      { session: 'a', weight: 1, owned: 0 },
      { session: 'b', weight: 2, owned: 0 },
    ])).toEqual(new Map([['a', 33], ['b', 67]]));
  });

  it('treats fractions equal but for float rounding as a tie, decided by what members own', () => {
    // 3 × 0.1 / 0.3 is not exactly 1 in floats; 0.1 + 0.2 is not exactly 0.3.
    const shares = fairShares(4, [
      { session: 'a', weight: 0.1, owned: 0 },
      { session: 'b', weight: 0.1, owned: 0 },
      { session: 'c', weight: 0.1, owned: 1 },
    ]);
    expect(shares).toEqual(new Map([['a', 1], ['b', 1], ['c', 2]]));
    expect(fairShares(3, [{ session: 'a', weight: 0.1, owned: 0 }, { session: 'b', weight: 0.2, owned: 0 }])).toEqual(new Map([['a', 1], ['b', 2]]));
  });

  it('sums to total and stays within one of the exact share, across sizes and weights', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 500; trial += 1) {
      const total = Math.floor(random() * 2_000);
      const members = Array.from({ length: 1 + Math.floor(random() * 50) }, (_, i) => ({
        session: `s${i}`,
        weight: [1, 2, 3, 0.5, 1.7][Math.floor(random() * 5)] as number,
        owned: Math.floor(random() * 100),
      }));
      const shares = fairShares(total, members);
      const weightSum = members.reduce((sum, m) => sum + m.weight, 0);
      expect([...shares.values()].reduce((a, b) => a + b, 0)).toBe(total);
      for (const m of members) {
        const exact = (total * m.weight) / weightSum;
        expect(Math.abs((shares.get(m.session) ?? NaN) - exact)).toBeLessThan(1);
      }
    }
  });

  it('shares nothing among no members, and zero among any', () => {
    expect(fairShares(5, [])).toEqual(new Map());
    expect(fairShares(0, [{ session: 'a', weight: 1, owned: 3 }])).toEqual(new Map([['a', 0]]));
  });

  it('rejects a weight that is not a finite number > 0', () => {
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => fairShares(1, [{ session: 'a', weight, owned: 0 }])).toThrow(new InvalidArgumentError('weight', `must be a finite number > 0, got ${weight} for a`));
    }
  });

  it('rejects a total that is not a whole number >= 0', () => {
    expect(() => fairShares(1.5, [])).toThrow(new InvalidArgumentError('total', 'must be a whole number >= 0, got 1.5'));
    expect(() => fairShares(-1, [])).toThrow(new InvalidArgumentError('total', 'must be a whole number >= 0, got -1'));
  });

  it('rejects a session named twice', () => {
    const twice = [{ session: 'a', weight: 1, owned: 0 }, { session: 'a', weight: 1, owned: 0 }];
    expect(() => fairShares(1, twice)).toThrow(new InvalidArgumentError('members', 'sessions must be unique, got a twice'));
  });
});

describe('planRound', () => {
  describe('a fleet of one', () => {
    it('takes every free partition, up to maxTakesPerRound a round', () => {
      const names = partitions(5);
      const first = plan('a', names, [member('a')], { maxTakesPerRound: 3 });
      expect(first).toEqual({
        targets: new Map([['a', 5]]),
        take: names.slice(0, 3).map((name) => ({ name, from: undefined })),
        want: [],
        handOff: [],
        removed: [],
        balanced: false,
      });
      expect(plan('a', names, [member('a', names.slice(0, 3))], { maxTakesPerRound: 3 }).take).toEqual(names.slice(3).map((name) => ({ name, from: undefined })));
    });

    it('owning everything, is balanced and does nothing', () => {
      const names = partitions(5);
      expect(plan('a', names, [member('a', names)])).toEqual({ targets: new Map([['a', 5]]), ...NOTHING, balanced: true });
    });
  });

  describe('an empty group', () => {
    it('targets nothing, is balanced, and releases what members still list', () => {
      const members = [member('a', ['gone-1']), member('b')];
      expect(plan('a', [], members)).toEqual({ targets: new Map([['a', 0], ['b', 0]]), ...NOTHING, removed: ['gone-1'], balanced: true });
      expect(plan('b', [], members)).toEqual({ targets: new Map([['a', 0], ['b', 0]]), ...NOTHING, balanced: true });
    });
  });

  describe('a balanced fleet', () => {
    it('does nothing: no take, no want, no handoff, for any member', () => {
      const names = partitions(10);
      const members = [member('a', names.slice(0, 4)), member('b', names.slice(4, 7)), member('c', names.slice(7))];
      for (const [, p] of plansOf(names, members)) {
        expect(p).toEqual({ targets: new Map([['a', 4], ['b', 3], ['c', 3]]), ...NOTHING, balanced: true });
      }
    });

    it('keeps the extra unit where it is rather than moving it to an earlier session', () => {
      const names = partitions(10);
      const members = [member('a', names.slice(0, 3)), member('b', names.slice(3, 6)), member('c', names.slice(6))];
      expect(plan('a', names, members)).toEqual({ targets: new Map([['a', 3], ['b', 3], ['c', 4]]), ...NOTHING, balanced: true });
    });

    it('ignores wants that would unbalance it', () => {
      const names = partitions(6);
      const members = [member('a', names.slice(0, 3), { wants: ['p0005'] }), member('b', names.slice(3))];
      for (const [, p] of plansOf(names, members)) expect(p).toMatchObject({ ...NOTHING, balanced: true });
    });
  });

  describe('orphans', () => {
    it('deals free partitions round-robin to the members below target, in session order', () => {
      const names = partitions(10);
      const members = [member('b'), member('a'), member('c', names.slice(0, 3))];
      const plans = plansOf(names, members);
      // Targets 3, 3 and 4: c owns the most, so it keeps the extra unit and lacks one.
      expect(plans.get('a')?.take.map((t) => t.name)).toEqual(['p0003', 'p0006', 'p0008']);
      expect(plans.get('b')?.take.map((t) => t.name)).toEqual(['p0004', 'p0007', 'p0009']);
      expect(plans.get('c')?.take.map((t) => t.name)).toEqual(['p0005']);
      for (const [, p] of plans) expect(p.want).toEqual([]);
    });

    it("takes a dead member's partitions from it, before free ones", () => {
      const names = partitions(6);
      const members = [member('a'), member('z', ['p0004', 'p0005'], { alive: false })];
      expect(plan('a', names, members, { maxTakesPerRound: 3 }).take).toEqual([
        { name: 'p0004', from: 'z' },
        { name: 'p0005', from: 'z' },
        { name: 'p0000', from: undefined },
      ]);
    });

    it("shares a dead member's partitions among the survivors up to their deficits, none twice", () => {
      const names = partitions(12);
      const members = [member('a', names.slice(0, 4)), member('b', names.slice(4, 8)), member('c', names.slice(8), { alive: false })];
      const plans = plansOf(names, members);
      expect(plans.get('a')?.targets).toEqual(new Map([['a', 6], ['b', 6]]));
      expect(plans.get('a')?.take).toEqual([{ name: 'p0008', from: 'c' }, { name: 'p0010', from: 'c' }]);
      expect(plans.get('b')?.take).toEqual([{ name: 'p0009', from: 'c' }, { name: 'p0011', from: 'c' }]);
    });

    it('gives each survivor only its own deficit, leaving the rest for the others', () => {
      const names = partitions(9);
      // Targets 5 and 4 (a owns more, so it keeps the extra unit): a lacks 1, b lacks 4.
      const members = [member('a', names.slice(0, 4)), member('b'), member('c', names.slice(4), { alive: false })];
      const plans = plansOf(names, members);
      expect(plans.get('a')?.targets).toEqual(new Map([['a', 5], ['b', 4]]));
      expect(plans.get('a')?.take).toEqual([{ name: 'p0004', from: 'c' }]);
      expect(plans.get('b')?.take.map((t) => t.name)).toEqual(['p0005', 'p0006', 'p0007', 'p0008']);
    });

    it('keeps what a member cannot take this round for it, so nobody else takes it', () => {
      const names = partitions(8);
      const members = [member('a'), member('b')];
      const plans = plansOf(names, members, { maxTakesPerRound: 2 });
      expect(plans.get('a')?.take.map((t) => t.name)).toEqual(['p0000', 'p0002']);
      expect(plans.get('b')?.take.map((t) => t.name)).toEqual(['p0001', 'p0003']);
    });

    it('gives a partition released for a handoff to the member that asked for it', () => {
      const names = partitions(8);
      // c handed p0007 over (released it) at b's request; a is below target too.
      const members = [member('a', names.slice(0, 1)), member('b', names.slice(1, 2), { wants: ['p0007'] }), member('c', names.slice(2, 7))];
      const plans = plansOf(names, members);
      expect(plans.get('b')?.take).toEqual([{ name: 'p0007', from: undefined }]);
      expect(plans.get('a')?.take).toEqual([]);
    });
  });

  describe('a member joining a balanced fleet', () => {
    const names = partitions(100);
    const fleet = ['a', 'b', 'c', 'd'].map((session, i) => member(session, names.slice(i * 25, (i + 1) * 25)));

    it('asks for its share, spread over the over-target owners, capped at maxHandoffsInFlight', () => {
      const p = plan('e', names, [...fleet, member('e')], { maxHandoffsInFlight: 8 });
      expect(p.targets).toEqual(new Map(['a', 'b', 'c', 'd', 'e'].map((s) => [s, 20])));
      // Each owner's last partitions first, one owner after another.
      expect(p.want).toEqual(['p0024', 'p0049', 'p0074', 'p0099', 'p0023', 'p0048', 'p0073', 'p0098']);
      expect(p).toMatchObject({ take: [], handOff: [], balanced: false });
    });

    it('asks for at most its deficit however high the cap', () => {
      expect(plan('e', names, [...fleet, member('e')], { maxHandoffsInFlight: 1_000 }).want).toHaveLength(20);
    });

    it('is handed, by each owner, what it asked of that owner and no more than the owner is over', () => {
      const wants = ['p0024', 'p0049', 'p0074', 'p0099', 'p0023', 'p0048', 'p0073', 'p0098'];
      const plans = plansOf(names, [...fleet, member('e', [], { wants })]);
      expect(plans.get('a')?.handOff).toEqual(['p0023', 'p0024']);
      expect(plans.get('d')?.handOff).toEqual(['p0098', 'p0099']);
      expect(plans.get('e')?.want.slice(0, 8)).toEqual(wants.slice().sort());
    });

    it('keeps a request it already published, whichever partition it named', () => {
      const p = plan('e', names, [...fleet, member('e', [], { wants: ['p0000', 'p0001'] })], { maxHandoffsInFlight: 4 });
      expect(p.want).toEqual(['p0000', 'p0001', 'p0024', 'p0049']);
      expect(plan('a', names, [...fleet, member('e', [], { wants: ['p0000', 'p0001'] })]).handOff).toEqual(['p0000', 'p0001']);
    });

    it('asks nothing of the same partition as another member joining with it', () => {
      const plans = plansOf(names, [...fleet, member('e'), member('f')]);
      const e = plans.get('e')?.want ?? [];
      const f = plans.get('f')?.want ?? [];
      expect(e.length + f.length).toBe(100 - 4 * 17);
      expect(e.filter((name) => f.includes(name))).toEqual([]);
    });
  });

  describe('handing over', () => {
    const names = partitions(9);

    it('hands over no more than it is over target, to the earliest asker first', () => {
      // a owns 5 of its 3; b, below target by 2, asks for 3 of them.
      const members = [member('a', names.slice(0, 5)), member('b', names.slice(5, 6), { wants: ['p0000', 'p0001', 'p0002'] }), member('c', names.slice(6))];
      expect(plan('a', names, members).handOff).toEqual(['p0000', 'p0001']);
    });

    it('hands nothing to a member no longer below its target', () => {
      const members = [member('a', names.slice(0, 4)), member('b', names.slice(4, 7), { wants: ['p0000'] }), member('c', names.slice(7))];
      expect(plan('a', names, members).handOff).toEqual([]);
    });

    it('hands nothing over at or below its own target', () => {
      const members = [member('a', names.slice(0, 3)), member('b', names.slice(3, 5), { wants: ['p0000'] }), member('c', names.slice(5))];
      expect(plan('a', names, members).handOff).toEqual([]);
    });

    it('hands nothing to a dead member', () => {
      const members = [member('a', names.slice(0, 6)), member('b', [], { wants: ['p0000'], alive: false }), member('c', names.slice(6))];
      expect(plan('a', names, members)).toMatchObject({ handOff: [], take: [] });
    });

    it('hands a partition asked for by two members to the earlier one only', () => {
      const members = [member('a', names.slice(0, 7)), member('b', names.slice(7, 8), { wants: ['p0000'] }), member('c', names.slice(8), { wants: ['p0000'] })];
      const plans = plansOf(names, members);
      expect(plans.get('a')?.handOff).toEqual(['p0000']);
      expect(plans.get('b')?.want[0]).toBe('p0000');
      expect(plans.get('c')?.want).not.toContain('p0000');
    });
  });

  describe('stale views', () => {
    const names = partitions(6);

    it('counts a partition two alive members list for the earlier session only', () => {
      const members = [member('b', ['p0000', 'p0001', 'p0002']), member('a', ['p0000', 'p0003', 'p0004']), member('c', ['p0005'])];
      const p = plan('b', names, members);
      // a counts 3, b counts 2 (p0000 is a's), c 1: b and c are short by 0 and 1.
      expect(p.targets).toEqual(new Map([['a', 2], ['b', 2], ['c', 2]]));
      expect(p.handOff).toEqual([]);
      expect(plan('c', names, members).want).toEqual(['p0004']);
    });

    it('ignores a dead member listing what an alive one lists', () => {
      const members = [member('a', ['p0000', 'p0001', 'p0002']), member('b', ['p0003', 'p0004']), member('0dead', ['p0000', 'p0003'], { alive: false })];
      expect(plan('b', names, members).take).toEqual([{ name: 'p0005', from: undefined }]);
    });

    it('takes from the earliest of two dead members listing one partition', () => {
      const members = [member('a', names.slice(0, 5)), member('y', ['p0005'], { alive: false }), member('x', ['p0005'], { alive: false })];
      expect(plan('a', names, members).take).toEqual([{ name: 'p0005', from: 'x' }]);
    });

    it('counts a partition listed twice by one member once', () => {
      const members = [member('a', ['p0000', 'p0000', 'p0001']), member('b', ['p0002', 'p0003', 'p0004'])];
      const p = plan('a', names, members);
      expect(p.targets).toEqual(new Map([['a', 3], ['b', 3]]));
      expect(p.take).toEqual([{ name: 'p0005', from: undefined }]);
    });
  });

  describe('names removed from the group', () => {
    it('counts them toward no share, and tells their owner to release them', () => {
      const names = partitions(4);
      const members = [member('a', ['p0000', 'p0001', 'old-2', 'old-1', 'old-1']), member('b', ['p0002', 'old-3'])];
      expect(plan('a', names, members)).toEqual({ targets: new Map([['a', 2], ['b', 2]]), ...NOTHING, removed: ['old-1', 'old-2'], balanced: false });
      expect(plan('b', names, members)).toMatchObject({ take: [{ name: 'p0003', from: undefined }], removed: ['old-3'] });
    });

    it('ignores wants of names no longer in the group', () => {
      const names = partitions(4);
      const members = [member('a', names.slice(0, 3)), member('b', [], { wants: ['old-1', 'p0000'] })];
      expect(plan('a', names, members).handOff).toEqual(['p0000']);
      // b takes the free p0003 and asks for a's one partition over target.
      expect(plan('b', names, members)).toMatchObject({ take: [{ name: 'p0003', from: undefined }], want: ['p0000'] });
    });
  });

  describe('weights', () => {
    it('gives a member of weight 2 twice the share, and it asks accordingly', () => {
      const names = partitions(12);
      const members = [member('a', names.slice(0, 6)), member('b', names.slice(6)), member('c', [], { weight: 2 })];
      const p = plan('c', names, members);
      expect(p.targets).toEqual(new Map([['a', 3], ['b', 3], ['c', 6]]));
      expect(p.want).toEqual(['p0005', 'p0011', 'p0004', 'p0010', 'p0003', 'p0009']);
    });
  });

  describe('determinism', () => {
    it('gives every member the same plan whatever the order of members, names and lists', () => {
      const random = seededRandom(42);
      const names = partitions(200);
      const members = [
        member('w3', names.slice(0, 60), { wants: [] }),
        member('w1', names.slice(60, 110)),
        member('w7', names.slice(110, 150), { alive: false }),
        member('w2', [], { wants: ['p0001', 'p0061'] }),
        member('w5', names.slice(150, 170), { weight: 2 }),
        member('w0', ['p0000', ...names.slice(170, 180)]),
      ];
      const reference = plansOf(names, members, { maxHandoffsInFlight: 5, maxTakesPerRound: 7 });
      for (let trial = 0; trial < 20; trial += 1) {
        const reordered = shuffled(members, random).map((m) => ({ ...m, owns: shuffled(m.owns, random), wants: shuffled(m.wants, random) }));
        const again = plansOf(shuffled(names, random), reordered, { maxHandoffsInFlight: 5, maxTakesPerRound: 7 });
        for (const [session, p] of reference) expect(again.get(session)).toEqual(p);
      }
    });

    it('assigns no partition to two members, whether to take or to ask for', () => {
      const names = partitions(200);
      const members = [member('a', names.slice(0, 120)), member('b'), member('c', names.slice(120, 150), { alive: false }), member('d'), member('e', names.slice(150, 160))];
      const plans = [...plansOf(names, members).values()];
      const taken = plans.flatMap((p) => p.take.map((t) => t.name));
      const wanted = plans.flatMap((p) => p.want);
      expect(new Set(taken).size).toBe(taken.length);
      expect(new Set(wanted).size).toBe(wanted.length);
      expect(taken.length).toBeGreaterThan(0);
      expect(wanted.length).toBeGreaterThan(0);
    });
  });

  describe('bad input', () => {
    const names = partitions(2);
    it('rejects a self that is not a member', () => {
      expect(() => plan('x', names, [member('a')])).toThrow(new InvalidArgumentError('self', 'must be one of the members, got x'));
    });
    it('rejects a self whose session is dead', () => {
      expect(() => plan('a', names, [member('a', [], { alive: false })])).toThrow(new InvalidArgumentError('self', 'must be alive: a worker whose session expired must stop, not plan (a)'));
    });
    it('rejects a session listed twice', () => {
      expect(() => plan('a', names, [member('a'), member('a')])).toThrow(new InvalidArgumentError('members', 'sessions must be unique, got a twice'));
    });
    it('rejects a partition name listed twice', () => {
      expect(() => plan('a', ['p0000', 'p0000'], [member('a')])).toThrow(new InvalidArgumentError('names', 'must be unique'));
    });
    it('rejects a weight that is not > 0', () => {
      expect(() => plan('a', names, [member('a', [], { weight: 0 })])).toThrow(new InvalidArgumentError('weight', 'must be a finite number > 0, got 0 for a'));
    });
    it.each(['maxHandoffsInFlight', 'maxTakesPerRound'] as const)('rejects %s below 1 or fractional', (cap) => {
      expect(() => plan('a', names, [member('a')], { [cap]: 0 })).toThrow(new InvalidArgumentError(cap, 'must be a whole number >= 1, got 0'));
      expect(() => plan('a', names, [member('a')], { [cap]: 1.5 })).toThrow(new InvalidArgumentError(cap, 'must be a whole number >= 1, got 1.5'));
    });
  });
});

/**
 * A fleet over one shared store, round by round: every alive worker plans from the view it read,
 * then the plans apply as the store would apply them (a take only if the partition is still
 * free or still its dead owner's; a handoff releases; wants are published for the next read).
 */
class Fleet {
  /** The store: each partition's owner session. */
  readonly owner = new Map<string, string>();
  readonly workers = new Map<string, { weight: number; alive: boolean; wants: readonly string[] }>();
  /** Takes the store refused because the taker's view was stale. */
  refused = 0;
  private previous: MemberView[] = [];

  constructor(
    readonly names: readonly string[],
    readonly caps: Pick<PlanInput, 'maxHandoffsInFlight' | 'maxTakesPerRound'>,
  ) {}

  join(session: string, weight = 1): void {
    this.workers.set(session, { weight, alive: true, wants: [] });
  }

  /** SIGKILL: the session expires with everything it owned. */
  kill(session: string): void {
    const worker = this.workers.get(session);
    if (worker) worker.alive = false;
  }

  /** close(): releases everything and deletes its session. */
  leave(session: string): void {
    for (const [name, owner] of this.owner) if (owner === session) this.owner.delete(name);
    this.workers.delete(session);
  }

  view(): MemberView[] {
    const owns = new Map<string, string[]>([...this.workers.keys()].map((s) => [s, []]));
    for (const [name, session] of this.owner) owns.get(session)?.push(name);
    return [...this.workers].map(([session, w]) => ({ session, weight: w.weight, owns: owns.get(session) ?? [], wants: w.wants, alive: w.alive }));
  }

  /**
   * One round. `stale` draws whether a worker reads the previous round's view instead (its own
   * entry is always current: a worker knows what it holds); with none, every worker reads the
   * same view and the plans must never collide.
   */
  round(stale?: () => boolean): Map<string, Plan> {
    const current = this.view();
    const plans = new Map<string, Plan>();
    for (const self of current.filter((m) => m.alive)) {
      const members = stale?.() ? [...this.previous.filter((m) => m.session !== self.session), self] : current;
      plans.set(self.session, planRound({ self: self.session, names: this.names, members, ...this.caps }));
    }
    if (!stale) checkNoCollisions(current, plans);
    this.previous = current;
    for (const [session, p] of plans) {
      for (const name of p.handOff) if (this.owner.get(name) === session) this.owner.delete(name);
    }
    for (const [session, p] of plans) {
      for (const { name, from } of p.take) {
        const holder = this.owner.get(name);
        const takeable = from === undefined ? holder === undefined : holder === from && this.workers.get(from)?.alive !== true;
        if (takeable) this.owner.set(name, session);
        else this.refused += 1;
      }
      const worker = this.workers.get(session);
      if (worker) worker.wants = p.want;
    }
    return plans;
  }

  /** Rounds until every worker's plan says balanced (that round not counted), at most `limit`. */
  untilBalanced(limit: number, stale?: () => boolean): number {
    for (let rounds = 0; rounds <= limit; rounds += 1) {
      const plans = [...this.round(stale).values()];
      if (plans.every((p) => p.balanced)) return rounds;
    }
    return Number.POSITIVE_INFINITY;
  }

  counts(): number[] {
    return [...this.workers].filter(([, w]) => w.alive).map(([session]) => [...this.owner.values()].filter((o) => o === session).length);
  }
}

/** What every worker planned from one view: nothing twice, nothing that is not an orphan, nothing handed over unasked. */
function checkNoCollisions(view: readonly MemberView[], plans: ReadonlyMap<string, Plan>): void {
  const holder = new Map<string, MemberView>();
  for (const m of view) for (const name of m.owns) holder.set(name, m);
  const taken = [...plans.values()].flatMap((p) => p.take.map((t) => t.name));
  const wanted = [...plans.values()].flatMap((p) => p.want);
  expect(new Set(taken).size).toBe(taken.length);
  expect(new Set(wanted).size).toBe(wanted.length);
  for (const [session, p] of plans) {
    for (const { name, from } of p.take) expect(holder.get(name)?.alive === true ? 'alive-owned' : holder.get(name)?.session).toBe(from);
    const mine = view.find((m) => m.session === session)?.owns.length ?? 0;
    expect(p.handOff.length).toBeLessThanOrEqual(Math.max(0, mine - (p.targets.get(session) ?? 0)));
    for (const name of p.handOff) {
      expect(holder.get(name)?.session).toBe(session);
      const asker = view.find((m) => m.alive && m.wants.includes(name));
      expect(asker && asker.owns.length < (p.targets.get(asker.session) ?? 0)).toBe(true);
    }
  }
}

describe('a fleet planning round by round', () => {
  const names = partitions(1_000);
  const caps = { maxHandoffsInFlight: 20, maxTakesPerRound: 50 };
  const spread = (counts: number[]) => Math.max(...counts) - Math.min(...counts);

  it('balances 10 workers over 1,000 partitions through joins, deaths, a leave and a heavier worker', () => {
    const fleet = new Fleet(names, caps);
    for (let i = 0; i < 10; i += 1) fleet.join(`w${String(i).padStart(2, '0')}`);
    // From empty: 100 each at 50 takes a round.
    expect(fleet.untilBalanced(10)).toBe(2);
    expect(fleet.counts()).toEqual(Array(10).fill(100));

    // Two join: 83 or 84 each, asked for 20 at a time, handed over, then taken.
    fleet.join('w10');
    fleet.join('w11');
    expect(fleet.untilBalanced(30)).toBeLessThanOrEqual(2 * Math.ceil(84 / caps.maxHandoffsInFlight) + 1);
    expect(spread(fleet.counts())).toBeLessThanOrEqual(1);

    // Three die: their ~250 partitions go to the nine survivors, within one round of takes.
    for (const session of ['w00', 'w05', 'w11']) fleet.kill(session);
    expect(fleet.untilBalanced(10)).toBe(1);
    expect(spread(fleet.counts())).toBeLessThanOrEqual(1);
    expect(fleet.owner.size).toBe(1_000);
    expect([...fleet.owner.values()].filter((s) => ['w00', 'w05', 'w11'].includes(s))).toEqual([]);

    // One leaves gracefully: what it released is free and taken at once.
    fleet.leave('w03');
    expect(fleet.untilBalanced(10)).toBe(1);

    // One of weight 2 joins the eight: 2/10 of the partitions.
    fleet.join('w20', 2);
    expect(fleet.untilBalanced(30)).toBeLessThanOrEqual(2 * Math.ceil(200 / caps.maxHandoffsInFlight) + 1);
    expect([...fleet.owner.values()].filter((s) => s === 'w20')).toHaveLength(200);
    expect(fleet.refused).toBe(0);

    // Balanced, it stays put: nothing taken, asked for or handed over.
    for (let i = 0; i < 3; i += 1) {
      for (const [, p] of fleet.round()) expect(p).toMatchObject({ take: [], want: [], handOff: [], balanced: true });
    }
  });

  it('never plans a collision through random joins, deaths and leaves, and settles after each', () => {
    const random = seededRandom(2026);
    const fleet = new Fleet(names, caps);
    let next = 0;
    const join = () => fleet.join(`r${String(next++).padStart(3, '0')}`, random() < 0.2 ? 2 : 1);
    for (let i = 0; i < 10; i += 1) join();
    for (let step = 0; step < 40; step += 1) {
      const alive = [...fleet.workers].filter(([, w]) => w.alive).map(([s]) => s);
      const roll = random();
      if (roll < 0.4 || alive.length < 3) join();
      else if (roll < 0.7) fleet.kill(alive[Math.floor(random() * alive.length)] as string);
      else fleet.leave(alive[Math.floor(random() * alive.length)] as string);
      // A few rounds between changes: the fleet is often mid-rebalance when the next one comes.
      for (let r = 0; r < 1 + Math.floor(random() * 4); r += 1) fleet.round();
    }
    expect(fleet.untilBalanced(40)).toBeLessThan(40);
    expect(fleet.refused).toBe(0);
  });

  it('settles with stale views too, the store refusing the takes they get wrong', () => {
    const random = seededRandom(99);
    const stale = () => random() < 0.3;
    const fleet = new Fleet(names, caps);
    for (let i = 0; i < 10; i += 1) fleet.join(`w${i}`);
    for (let r = 0; r < 5; r += 1) fleet.round(stale);
    fleet.join('w10');
    fleet.kill('w3');
    for (let r = 0; r < 5; r += 1) fleet.round(stale);
    fleet.join('w11');
    fleet.kill('w7');
    for (let r = 0; r < 30; r += 1) fleet.round(stale);
    // Once everyone reads the same view again, it is balanced within a few rounds.
    expect(fleet.untilBalanced(20)).toBeLessThan(20);
    expect(spread(fleet.counts())).toBeLessThanOrEqual(1);
    expect(fleet.owner.size).toBe(1_000);
    // The stale views did collide: the store, not the plan, kept those takes out.
    expect(fleet.refused).toBeGreaterThan(0);
  });

  it('plans 10,000 partitions over 20 workers, one joining and one dead', () => {
    const many = partitions(10_000);
    const members = Array.from({ length: 20 }, (_, i) => member(`m${String(i).padStart(2, '0')}`, many.slice(i * 526, (i + 1) * 526)));
    members[19] = member('m19', [], { wants: [] });
    members[7] = { ...(members[7] as MemberView), alive: false };
    const plans = plansOf(many, members, { maxHandoffsInFlight: 50, maxTakesPerRound: 100 });
    expect(plans.size).toBe(19);
    for (const [, p] of plans) expect([...p.targets.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(plans.get('m19')?.take).toHaveLength(100);
  });
});
