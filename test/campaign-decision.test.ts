/**
 * The campaign's decision after each look at the lease, row by row: no DynamoDB, no timers, one
 * random draw from a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/index.js';
import { campaignDecision, type CampaignDecision, type CampaignLook } from '../lib/elector/campaign.js';

/** A 1 s lease's defaults: followers wake every half lease, idle ones every four leases. */
const settings = { followerWakeMs: 500, idleWakeMs: 4_000 };
/** Just under 1: `Clock.random()` never returns 1 itself. */
const ALMOST_ONE = 1 - 2 ** -52;

describe('campaignDecision', () => {
  const rows: [string, CampaignLook, number, CampaignDecision][] = [
    ['acquires a lease takeable now', { takeableInMs: 0, watchesClosely: true }, 0.5, { action: 'acquire' }],
    ['acquires a lease takeable now, standby or not', { takeableInMs: 0, watchesClosely: false }, 0.5, { action: 'acquire' }],
    ['sleeps until the lease can first be taken, with no jitter at a draw of 0', { takeableInMs: 120, watchesClosely: true }, 0, { action: 'sleep', ms: 120, watch: 'close-watch' }],
    // followerWakeMs / 10 = 50 ms of jitter at most.
    ['adds jitter in proportion to the draw', { takeableInMs: 120, watchesClosely: true }, 0.5, { action: 'sleep', ms: 145, watch: 'close-watch' }],
    ['adds just under a tenth of followerWakeMs at a draw just under 1', { takeableInMs: 120, watchesClosely: true }, ALMOST_ONE, { action: 'sleep', ms: 120 + 50 * ALMOST_ONE, watch: 'close-watch' }],
    ['caps a close watch at followerWakeMs, so a resign is noticed', { takeableInMs: 9_000, watchesClosely: true }, 0, { action: 'sleep', ms: 500, watch: 'close-watch' }],
    ['caps the close watch at followerWakeMs with jitter too', { takeableInMs: 480, watchesClosely: true }, ALMOST_ONE, { action: 'sleep', ms: 500, watch: 'close-watch' }],
    ['sleeps at least 1 ms before looking again', { takeableInMs: 0.25, watchesClosely: true }, 0, { action: 'sleep', ms: 1, watch: 'close-watch' }],
    ['wakes an idle follower at 0.75 × idleWakeMs at a draw of 0', { takeableInMs: 120, watchesClosely: false }, 0, { action: 'sleep', ms: 3_000, watch: 'idle-wake' }],
    ['wakes an idle follower at idleWakeMs at a draw of 0.5', { takeableInMs: 120, watchesClosely: false }, 0.5, { action: 'sleep', ms: 4_000, watch: 'idle-wake' }],
    ['wakes an idle follower just under 1.25 × idleWakeMs at a draw just under 1', { takeableInMs: 120, watchesClosely: false }, ALMOST_ONE, { action: 'sleep', ms: 4_000 * (0.75 + ALMOST_ONE / 2), watch: 'idle-wake' }],
    ['wakes an idle follower on its own schedule however far off the lease is', { takeableInMs: 60_000, watchesClosely: false }, 0.5, { action: 'sleep', ms: 4_000, watch: 'idle-wake' }],
  ];
  it.each(rows)('%s', (_what, look, draw, expected) => {
    expect(campaignDecision(look, settings, new ManualClock({ random: () => draw }))).toEqual(expected);
  });

  it('spreads jitter over at most 100 ms however long followerWakeMs is', () => {
    const long = { followerWakeMs: 60_000, idleWakeMs: 240_000 };
    const at = (draw: number) => campaignDecision({ takeableInMs: 1_000, watchesClosely: true }, long, new ManualClock({ random: () => draw }));
    expect(at(0)).toEqual({ action: 'sleep', ms: 1_000, watch: 'close-watch' });
    expect(at(ALMOST_ONE)).toEqual({ action: 'sleep', ms: 1_000 + 100 * ALMOST_ONE, watch: 'close-watch' });
  });

  it('keeps every sleep within its bounds across the whole range of draws', () => {
    for (let draw = 0; draw < 1; draw += 1 / 64) {
      const clock = new ManualClock({ random: () => draw });
      const close = campaignDecision({ takeableInMs: 200, watchesClosely: true }, settings, clock);
      const idle = campaignDecision({ takeableInMs: 200, watchesClosely: false }, settings, clock);
      expect(close.action === 'sleep' && close.ms >= 200 && close.ms < 250).toBe(true);
      expect(idle.action === 'sleep' && idle.ms >= 3_000 && idle.ms < 5_000).toBe(true);
    }
  });

  it('draws one random number to sleep and none to acquire', () => {
    let draws = 0;
    const clock = new ManualClock({ random: () => (draws++, 0.5) });
    campaignDecision({ takeableInMs: 0, watchesClosely: true }, settings, clock);
    expect(draws).toBe(0);
    campaignDecision({ takeableInMs: 120, watchesClosely: true }, settings, clock);
    campaignDecision({ takeableInMs: 120, watchesClosely: false }, settings, clock);
    expect(draws).toBe(2);
  });
});
