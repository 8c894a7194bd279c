/**
 * The partition-recovery benchmark (issue 17) in miniature, so it cannot rot between runs: one
 * trial per scope on the reference server, a shorter lease. Only what machine noise cannot change
 * is asserted (the cuts happened, nobody stuck, no safety violation); no timing.
 */
import { describe, expect, it } from 'vitest';
import { benchPartitionRecovery, SCOPES } from '../harness/bench/partition-recovery.js';
import { referenceBackend } from './support/backends.js';

const backend = referenceBackend();

// The benchmark signs with the local servers' fake credentials: it is not for a real table.
describe.skipIf(backend.name === 'endpoint')('partition recovery, in miniature', () => {
  it('after a silent cut of a follower, the leader or every worker, a leader is back and every cut worker rejoins, one leader at a time', async () => {
    const result = await benchPartitionRecovery({ endpoint: backend.endpoint, trials: 1, leaseMs: 1_000, skewMs: 100, seed: 17, timeoutMs: 30_000 });
    expect(result.trials.map((t) => t.scope)).toEqual([...SCOPES]);
    expect(result.trials.map((t) => t.cut.length)).toEqual([1, 1, 4]);
    expect(result.trials[1]!.cut[0]!.role).toBe('leader');
    for (const trial of result.trials) {
      expect(trial.samples, `${trial.scope}: safety was sampled`).toBeGreaterThan(0);
      expect(trial.violations, `${trial.scope}: safety`).toEqual([]);
      expect(trial.stuck, `${trial.scope}: stuck workers`).toEqual([]);
      expect(trial.leaderBackMs, `${trial.scope}: a leader is back`).toBeDefined();
      for (const worker of trial.cut) expect(worker.rejoinedMs, `${trial.scope}: ${worker.holderId} rejoined`).toBeDefined();
    }
    // Nobody else can lead while every worker is cut off: the leader after the heal is a new term.
    expect(result.trials[2]!.newTermFromCutMs).toBeDefined();
    for (const scope of SCOPES) {
      expect(result.scopes[scope].trials).toBe(1);
      expect(result.scopes[scope].stuckWorkers).toBe(0);
      expect(result.scopes[scope].safetyViolations).toBe(0);
    }
  }, 150_000);
});
