/**
 * The per-partition checker that judges the group mode of the demo and the chaos run: each
 * partition's history must pass the single-lease checks on its own, so it must catch two owners
 * of one partition at once, a partition's token going down, a stale write landing in one
 * partition's ledger, and a partition left unowned, without mixing partitions up.
 */
import { describe, expect, it } from 'vitest';
import { checkGroup } from '../harness/proof/check-group.js';
import type { HistoryEvent } from '../harness/proof/history.js';
import { groupTimelineSvg } from '../harness/proof/timeline.js';

const partitions = ['0', '1'];
/** w1 owns both; w2 joins and is handed partition 1; w1 is killed and w2 takes partition 0 over. */
const healthy: HistoryEvent[] = [
  { t: 0, worker: 'w1', kind: 'elected', token: 1, partition: '0' },
  { t: 0, worker: 'w1', kind: 'elected', token: 1, partition: '1' },
  { t: 10, sentAt: 5, worker: 'w1', kind: 'write', id: 'w1#1', token: 1, outcome: 'accepted', partition: '0' },
  { t: 12, sentAt: 6, worker: 'w1', kind: 'write', id: 'w1#2', token: 1, outcome: 'accepted', partition: '1' },
  { t: 100, worker: 'w2', kind: 'fault', fault: 'join' },
  { t: 400, worker: 'w1', kind: 'deposed', token: 1, reason: 'handedOff', partition: '1' },
  { t: 500, worker: 'w2', kind: 'elected', token: 2, partition: '1' },
  { t: 510, sentAt: 505, worker: 'w2', kind: 'write', id: 'w2#1', token: 2, outcome: 'accepted', partition: '1' },
  { t: 1_000, worker: 'w1', kind: 'fault', fault: 'kill' },
  { t: 3_200, worker: 'w2', kind: 'elected', token: 2, partition: '0' },
  { t: 3_210, sentAt: 3_205, worker: 'w2', kind: 'write', id: 'w2#2', token: 2, outcome: 'accepted', partition: '0' },
];
const ledgers = new Map([
  ['0', [{ token: 1, id: 'w1#1' }, { token: 2, id: 'w2#2' }]],
  ['1', [{ token: 1, id: 'w1#2' }, { token: 2, id: 'w2#1' }]],
]);

describe('the per-partition checker', () => {
  it('passes a healthy group run and measures handoffs, takeovers, recovery and balance', () => {
    const verdict = checkGroup(healthy, 4_000, partitions, ledgers, { leaderlessBoundMs: 3_000 });
    expect(verdict.violations).toEqual([]);
    expect(verdict).toMatchObject({ ok: true, partitions: 2, acquisitions: 4, handoffs: 1, takeovers: 1, writesAccepted: 4 });
    expect([...verdict.unownedGapsMs].sort((a, b) => a - b)).toEqual([100, 2_200]);
    expect(verdict.recoveries).toEqual([{ fault: 'kill', worker: 'w1', partitions: 1, ms: 2_200 }]);
    // After the join: balanced once w2 owns partition 1; after the kill: once w2 owns both.
    expect(verdict.rebalances).toEqual([
      { fault: 'join', worker: 'w2', ms: 400 },
      { fault: 'kill', worker: 'w1', ms: 2_200 },
    ]);
    expect(verdict.finalCounts).toEqual({ w2: 2 });
  });

  it('reports two owners of one partition at once, naming the partition, and only that one', () => {
    const late: HistoryEvent = { t: 700, worker: 'w1', kind: 'deposed', token: 1, reason: 'handedOff', partition: '1' };
    const events = [...healthy.filter((e) => !(e.kind === 'deposed' && e.partition === '1')), late].sort((a, b) => a.t - b.t);
    expect(checkGroup(events, 4_000, partitions, ledgers).violations).toEqual([
      expect.stringMatching(/^partition 1: overlap: w2 \(token 2\) elected 200\.0 ms before w1 \(token 1\)/),
    ]);
  });

  it('reports a partition whose token went down, though another partition has higher tokens', () => {
    const events: HistoryEvent[] = [
      { t: 0, worker: 'w1', kind: 'elected', token: 7, partition: '0' },
      { t: 0, worker: 'w2', kind: 'elected', token: 3, partition: '1' },
      { t: 10, worker: 'w2', kind: 'deposed', token: 3, reason: 'handedOff', partition: '1' },
      { t: 20, worker: 'w1', kind: 'elected', token: 2, partition: '1' },
    ];
    expect(checkGroup(events, 30, partitions, new Map()).violations).toEqual(['partition 1: token did not grow: 3 (w2) then 2 (w1)']);
  });

  it('reports a stale write in one partition\'s ledger, and a write with a token its worker never held there', () => {
    const stale = new Map([...ledgers, ['1', [{ token: 1, id: 'w1#2' }, { token: 2, id: 'w2#1' }, { token: 1, id: 'w1#9' }]]]);
    const extra: HistoryEvent[] = [
      { t: 600, sentAt: 590, worker: 'w1', kind: 'write', id: 'w1#9', token: 1, outcome: 'refused', partition: '1' },
      // Token 2 is partition 1's (w2's); w1 never held partition 0 with it: a token is only good for its own partition.
      { t: 700, sentAt: 690, worker: 'w1', kind: 'write', id: 'w1#10', token: 2, outcome: 'accepted', partition: '0' },
    ];
    const events = [...healthy, ...extra].sort((a, b) => a.t - b.t);
    expect(checkGroup(events, 4_000, partitions, stale).violations).toEqual([
      'partition 0: write accepted from w1 with token 2, which it never led with',
      'partition 0: accepted write w1#10 is missing from the ledger',
      'partition 1: stale write landed: w1#9 with token 1 after w2#1 with 2',
      'partition 1: refused write w1#9 is in the ledger',
    ]);
  });

  it('reports a partition left unowned until the run ended, beyond the bound', () => {
    const events = healthy.filter((e) => e.partition !== '0' || e.t < 1_000);
    const verdict = checkGroup(events, 6_000, partitions, new Map([['1', ledgers.get('1')!], ['0', [{ token: 1, id: 'w1#1' }]]]), { leaderlessBoundMs: 3_000 });
    expect(verdict.violations).toEqual(['partition 0: leaderless for 5000 ms (bound 3000 ms): after w1 (token 1, killed) until the run ended']);
    expect(Math.max(...verdict.unownedGapsMs), 'the longest unowned spell counts it').toBe(5_000);
    expect(checkGroup(events, 3_500, partitions, new Map([['1', ledgers.get('1')!], ['0', [{ token: 1, id: 'w1#1' }]]]), { leaderlessBoundMs: 3_000 }).ok).toBe(true);
  });

  it('reports a running member that owns nothing for longer than the bound, and not a killed one', () => {
    // w3 joins at 200 and never gets a partition; w1 owns nothing after it is killed, which is no fault of the group.
    const events = [...healthy, { t: 200, worker: 'w3', kind: 'fault', fault: 'join' } as HistoryEvent].sort((a, b) => a.t - b.t);
    const verdict = checkGroup(events, 4_000, partitions, ledgers, { idleBoundMs: 3_000 });
    // Sampled every 100 ms: w2 is seen idle from 100 to 400, and owns partition 1 at 500.
    expect(verdict.idleMs).toMatchObject({ w1: 0, w2: 300, w3: 3_800 });
    expect(verdict.violations).toEqual(['member w3: owned no partition for 3800 ms while running (bound 3000 ms)']);
    expect(checkGroup(events, 3_100, partitions, ledgers, { idleBoundMs: 3_000 }).ok).toBe(true);
  });

  it('reports an event about a partition the group does not have', () => {
    const events: HistoryEvent[] = [...healthy, { t: 50, worker: 'w1', kind: 'elected', token: 1, partition: '9' }];
    expect(checkGroup(events, 4_000, partitions, ledgers).violations).toEqual(['partition 9: not one of the group\'s partitions (elected by w1)']);
  });

  it('draws one lane per partition', () => {
    const verdict = checkGroup(healthy, 4_000, partitions, ledgers);
    const svg = groupTimelineSvg(healthy, verdict.tenures, 'group');
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
    for (const lane of ['p0', 'p1']) expect(svg).toContain(`>${lane}</text>`);
    expect(svg).not.toContain('>w1</text>');
  });
});
