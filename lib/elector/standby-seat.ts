/**
 * A follower's standby slot: how a bounded number of followers watch a lease closely while the
 * rest look rarely, so the table's cost does not grow with the number of followers. Slots live
 * on the lease item (see `standbySlotAttribute`); which follower stands by affects only who takes
 * over and how fast, never safety.
 *
 * @module
 */
import { standbySlotsOf, type ElectionLeases, type StandbySlots } from '../core/contracts.js';
import type { LeaseDescription } from '../core/lease-client.js';

/** A slot lasts this many leases and is refreshed when half of it is left: one write per five leases. */
const STANDBY_LEASES = 10;

export class StandbySeat {
  /** How many slots the followers share: 0 when `leases` keeps none, so every follower watches closely. */
  readonly slots: number;
  private readonly writes: StandbySlots | undefined;
  private slot: number | undefined;

  constructor(
    private readonly leases: ElectionLeases,
    private readonly name: string,
    slots: number,
    private readonly leaseMs: number,
  ) {
    this.writes = standbySlotsOf(leases);
    this.slots = this.writes ? slots : 0;
  }

  /**
   * Whether this follower watches the lease closely: it holds a slot (claiming a free or lapsed
   * one if it can, refreshing its own when half is used), or standbys are off. `current` may be
   * an eventually consistent read, stale in either direction; whatever it shows, the follower
   * never keeps two slots.
   */
  async watchesClosely(current: LeaseDescription | undefined): Promise<boolean> {
    if (!this.writes || this.slots === 0 || !current) return true;
    const now = this.leases.clock.wallNow();
    const live = current.standbys.filter((s) => s.slot < this.slots && s.until > now);
    const standbyMs = this.leaseMs * STANDBY_LEASES;
    const mine = live.filter((s) => s.holderId === this.leases.holderId);
    // 1. The read shows this follower's slot: keep the one it believes it holds (or the first),
    //    and give back any other, left by a claim whose answer was lost.
    const kept = mine.find((s) => s.slot === this.slot) ?? mine[0];
    if (kept) {
      await this.hold(kept.slot);
      for (const extra of mine) if (extra !== kept) await this.give(extra.slot);
      if (kept.until - now < standbyMs / 2) await this.writes.claim(this.name, kept.slot, standbyMs);
      return true;
    }
    // 2. The read does not show the slot this follower believes it holds: it may predate the
    //    claim. Refresh that slot (free, lapsed or its own) before looking for another.
    const believed = this.slot;
    if (believed !== undefined) {
      if (await this.writes.claim(this.name, believed, standbyMs)) return true;
      this.slot = undefined;
    }
    // 3. Claim a free slot. Start at a random one so racing followers spread out, and try the
    //    others when one is lost to a racer: a slot left empty would wait for an idle
    //    follower's next look.
    const free = Array.from({ length: this.slots }, (_, slot) => slot).filter(
      (slot) => slot !== believed && !live.some((s) => s.slot === slot),
    );
    const start = Math.floor(this.leases.clock.random() * free.length);
    for (let i = 0; i < free.length; i++) {
      const slot = free[(start + i) % free.length]!;
      if (await this.writes.claim(this.name, slot, standbyMs)) {
        this.slot = slot;
        return true;
      }
    }
    return false;
  }

  /** Gives the slot back: a new leader's would otherwise sit unused for up to STANDBY_LEASES leases. */
  async leave(): Promise<void> {
    const slot = this.slot;
    this.slot = undefined;
    if (slot !== undefined) await this.give(slot);
  }

  /** Makes `slot` the one this follower holds, giving back the one it held before. */
  private async hold(slot: number): Promise<void> {
    const before = this.slot;
    this.slot = slot;
    if (before !== undefined && before !== slot) await this.give(before);
  }

  /** Conditional on this holder, so it never empties a slot another follower has since claimed. */
  private async give(slot: number): Promise<void> {
    await this.writes?.release(this.name, slot).catch(() => {});
  }
}
