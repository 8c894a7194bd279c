/**
 * The campaign's decision after each look at the lease: try to acquire it now, or sleep, and for
 * how long. A pure function of what the look showed, the settings and one random draw: no I/O,
 * no timers, so it is tested row by row apart from the loop that reads, writes and sleeps.
 *
 * @module
 */
import type { Clock } from '../core/clock.js';
import type { ElectorSettings } from './options.js';

/** What a follower knows after one look at the lease. */
export interface CampaignLook {
  /** Ms until this node could first take the lease (`peek`'s `takeableInMs`); 0 when it can try now. */
  readonly takeableInMs: number;
  /**
   * Whether this follower watches the lease closely: it holds a standby slot, or standbys are
   * off. Not consulted when the lease can be taken now.
   */
  readonly watchesClosely: boolean;
}

/** What the campaign does next. */
export type CampaignDecision =
  /** Try the conditional write now. */
  | { readonly action: 'acquire' }
  /** Sleep `ms`, then look again: `close-watch` until the lease can first be taken, `idle-wake` a standby-less follower's rare look. */
  | { readonly action: 'sleep'; readonly ms: number; readonly watch: 'close-watch' | 'idle-wake' };

/** The most a close-watching follower's wake-up is spread by, in ms (less when followerWakeMs is short). */
const MAX_JITTER_MS = 100;

/**
 * Decides the campaign's next step from one look. Draws `clock.random()` once when it sleeps,
 * never when it acquires.
 */
export function campaignDecision(
  look: CampaignLook,
  settings: Pick<ElectorSettings, 'followerWakeMs' | 'idleWakeMs'>,
  clock: Pick<Clock, 'random'>,
): CampaignDecision {
  if (look.takeableInMs === 0) return { action: 'acquire' };
  if (look.watchesClosely) {
    // Sleep until the lease can first be taken (the jitter spreads the standbys' writes), but no
    // longer than followerWakeMs so a resign is noticed.
    const jitter = clock.random() * Math.min(MAX_JITTER_MS, settings.followerWakeMs / 10);
    return { action: 'sleep', ms: Math.min(Math.max(look.takeableInMs, 1) + jitter, settings.followerWakeMs), watch: 'close-watch' };
  }
  // Spread 0.75–1.25 × idleWakeMs, so idle followers started together do not look together.
  return { action: 'sleep', ms: settings.idleWakeMs * (0.75 + clock.random() / 2), watch: 'idle-wake' };
}
