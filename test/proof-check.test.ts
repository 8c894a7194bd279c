/**
 * The history checker that judges the demo and the chaos runs: it must catch each violation it
 * claims to, or a green verdict means nothing.
 */
import { describe, expect, it } from 'vitest';
import { check, checkLedger, spread } from '../harness/proof/check.js';
import type { HistoryEvent } from '../harness/proof/history.js';
import { timelineSvg } from '../harness/proof/timeline.js';

const healthy: HistoryEvent[] = [
  { t: 0, worker: 'w1', kind: 'elected', token: 1 },
  { t: 10, sentAt: 9, worker: 'w1', kind: 'write', id: 'w1#1', token: 1, outcome: 'accepted' },
  { t: 100, worker: 'controller', kind: 'fault', fault: 'kill' },
  { t: 100, worker: 'w1', kind: 'fault', fault: 'kill' },
  { t: 1_300, worker: 'w2', kind: 'elected', token: 2 },
  { t: 1_310, sentAt: 1_305, worker: 'w2', kind: 'write', id: 'w2#2', token: 2, outcome: 'accepted' },
  { t: 1_320, sentAt: 1_315, worker: 'w3', kind: 'write', id: 'w3#3', token: 1, outcome: 'refused' },
  { t: 2_000, worker: 'w2', kind: 'deposed', token: 2, reason: 'resigned' },
  { t: 2_100, worker: 'w3', kind: 'elected', token: 3 },
];

describe('the history checker', () => {
  it('passes a healthy run and measures its failovers', () => {
    const verdict = check(healthy, 3_000);
    expect(verdict.violations).toEqual([]);
    expect(verdict).toMatchObject({ ok: true, elections: 3, writesAccepted: 2, writesRejected: 1, writesUnknown: 0 });
    expect(verdict.failoverGapsMs).toEqual([1_200]);
    expect(verdict.failovers).toEqual([{ fault: 'kill', worker: 'w1', gapMs: 1_200 }]);
    expect(verdict.leaderlessGapsMs).toEqual([1_200, 100]);
    expect(verdict.tenures.at(-1)).toMatchObject({ worker: 'w3', end: 3_000, endedBy: 'run ended' });
  });

  it('reports two leaders at once', () => {
    const events: HistoryEvent[] = [
      { t: 0, worker: 'w1', kind: 'elected', token: 1 },
      { t: 50, worker: 'w2', kind: 'elected', token: 2 },
      { t: 80, worker: 'w1', kind: 'deposed', token: 1, reason: 'expired' },
    ];
    expect(check(events, 100).violations).toEqual([expect.stringMatching(/^overlap: w2 \(token 2\) elected 30\.0 ms before w1/)]);
  });

  it('reports a token that did not grow', () => {
    const events: HistoryEvent[] = [
      { t: 0, worker: 'w1', kind: 'elected', token: 5 },
      { t: 10, worker: 'w1', kind: 'deposed', token: 5, reason: 'resigned' },
      { t: 20, worker: 'w2', kind: 'elected', token: 5 },
    ];
    expect(check(events, 30).violations).toEqual(['token did not grow: 5 (w1) then 5 (w2)']);
  });

  it('reports a stale write accepted, and a write from a worker that never led with its token', () => {
    const events: HistoryEvent[] = [
      { t: 0, worker: 'w1', kind: 'elected', token: 1 },
      { t: 10, worker: 'w1', kind: 'deposed', token: 1, reason: 'expired' },
      { t: 20, worker: 'w2', kind: 'elected', token: 2 },
      { t: 30, sentAt: 25, worker: 'w2', kind: 'write', id: 'w2#4', token: 2, outcome: 'accepted' },
      { t: 40, sentAt: 35, worker: 'w1', kind: 'write', id: 'w1#5', token: 1, outcome: 'accepted' },
      { t: 50, sentAt: 45, worker: 'w3', kind: 'write', id: 'w3#6', token: 7, outcome: 'accepted' },
    ];
    expect(check(events, 60).violations).toEqual([
      "stale write accepted: w1 with token 1 after w2's with 2",
      'write accepted from w3 with token 7, which it never led with',
    ]);
  });

  it('accepts a write sent before a newer one was answered, even if its own answer came later', () => {
    // A leader frozen with a write in flight reads the answer only after it resumes.
    const events: HistoryEvent[] = [
      { t: 0, worker: 'w1', kind: 'elected', token: 1 },
      { t: 10, worker: 'w1', kind: 'deposed', token: 1, reason: 'expired' },
      { t: 20, worker: 'w2', kind: 'elected', token: 2 },
      { t: 30, sentAt: 25, worker: 'w2', kind: 'write', id: 'w2#7', token: 2, outcome: 'accepted' },
      { t: 40, sentAt: 5, worker: 'w1', kind: 'write', id: 'w1#8', token: 1, outcome: 'accepted' },
    ];
    expect(check(events, 50).violations).toEqual([]);
  });

  it('reports a spell without a leader longer than the bound, and only that one', () => {
    const verdict = check(healthy, 3_000, { leaderlessBoundMs: 1_000 });
    expect(verdict.violations).toEqual([
      'leaderless for 1200 ms (bound 1000 ms): after w1 (token 1, killed) until w2 (token 2)',
    ]);
    expect(check(healthy, 3_000, { leaderlessBoundMs: 1_200 }).ok).toBe(true);
  });

  it('judges a spell that spans a cut-off of every worker from the heal, and times recovery from it', () => {
    const cutOff: HistoryEvent[] = [
      { t: 0, worker: 'w1', kind: 'elected', token: 1 },
      { t: 100, worker: 'w1', kind: 'fault', fault: 'partition', detail: 'every worker cut off in silence for 3.0 s' },
      { t: 100, worker: 'all', kind: 'fault', fault: 'partition', detail: 'every worker cut off in silence for 3.0 s' },
      { t: 900, worker: 'w1', kind: 'deposed', token: 1, reason: 'expired' },
      { t: 3_100, worker: 'all', kind: 'fault', fault: 'heal', detail: 'healed' },
      { t: 3_600, worker: 'w2', kind: 'elected', token: 2 },
    ];
    const verdict = check(cutOff, 4_000, { leaderlessBoundMs: 1_000 });
    expect(verdict.violations).toEqual([]);
    expect(verdict.leaderlessGapsMs).toEqual([500]);
    expect(verdict.failovers).toEqual([{ fault: 'heal of everyone', worker: 'all', gapMs: 500 }]);
    const slow = [...cutOff.slice(0, -1), { t: 4_300, worker: 'w2', kind: 'elected', token: 2 } as HistoryEvent];
    expect(check(slow, 5_000, { leaderlessBoundMs: 1_000 }).violations).toEqual([
      'leaderless for 1200 ms (bound 1000 ms): after w1 (token 1, expired) until w2 (token 2)',
    ]);
  });

  it('counts writes whose answer was lost apart from accepted and refused ones', () => {
    const events: HistoryEvent[] = [
      ...healthy,
      { t: 1_400, sentAt: 1_350, worker: 'w2', kind: 'write', id: 'w2#9', token: 2, outcome: 'unknown' },
    ];
    expect(check(events, 3_000)).toMatchObject({ ok: true, writesAccepted: 2, writesRejected: 1, writesUnknown: 1 });
  });
  it('summarises a list as min, median and max', () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spread([])).toBeUndefined();
  });

  it('draws one lane per worker with a bar per leadership', () => {
    const verdict = check(healthy, 3_000);
    const svg = timelineSvg(healthy, verdict.tenures, 'run');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(3);
    for (const worker of ['w1', 'w2', 'w3']) expect(svg).toContain(`>${worker}</text>`);
    expect(svg).not.toContain('>controller</text>');
    expect(timelineSvg(healthy, verdict.tenures, 'run', ['w4'])).toContain('>w4</text>');
  });
});

describe('the ledger check', () => {
  const writes: HistoryEvent[] = [
    { t: 0, worker: 'w1', kind: 'elected', token: 1 },
    { t: 10, sentAt: 5, worker: 'w1', kind: 'write', id: 'w1#1', token: 1, outcome: 'accepted' },
    { t: 20, sentAt: 15, worker: 'w1', kind: 'write', id: 'w1#2', token: 1, outcome: 'unknown' },
    { t: 30, sentAt: 25, worker: 'w1', kind: 'write', id: 'w1#3', token: 1, outcome: 'refused' },
  ];

  it('passes a ledger holding the accepted writes, and a lost-answer write or not', () => {
    expect(checkLedger([{ token: 1, id: 'w1#1' }], writes)).toEqual([]);
    expect(checkLedger([{ token: 1, id: 'w1#1' }, { token: 1, id: 'w1#2' }], writes)).toEqual([]);
  });

  it('reports a token that went down, a missing accepted write, a refused write that landed, and an unknown entry', () => {
    const ledger = [
      { token: 2, id: 'w9#1' },
      { token: 1, id: 'w1#3' },
    ];
    expect(checkLedger(ledger, writes)).toEqual([
      'stale write landed: w1#3 with token 1 after w9#1 with 2',
      'accepted write w1#1 is missing from the ledger',
      'refused write w1#3 is in the ledger',
      'ledger entry w9#1 is no write w9 recorded, and w9 was not killed',
    ]);
  });

  it('accepts an entry without a history line from a worker killed with the write in flight', () => {
    const killed: HistoryEvent[] = [...writes, { t: 40, worker: 'w1', kind: 'fault', fault: 'kill' }];
    expect(checkLedger([{ token: 1, id: 'w1#1' }, { token: 1, id: 'w1#4' }], killed)).toEqual([]);
  });
});
