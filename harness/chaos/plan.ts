/**
 * What the chaos controller does to the cluster, one fault at a time, every choice drawn from a
 * seeded random source so a run can be replayed from its seed (timing aside). Faults come in a
 * shuffled round of every kind first, so even a short run meets each one, then at random.
 *
 * One worker is impaired at a time and the next fault waits until the last has healed and a
 * leader is back: safety must hold under anything, but the failover bound the checker enforces
 * is promised for a single failure, not for the leader and its standbys failing together.
 *
 * In group mode "the leader" is the running worker owning the most partitions, and there is one
 * only once every partition is owned again (`Cluster.leader`), so each fault meets a recovered
 * group; a resign makes that worker leave the group (releasing everything) and join again.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster, WorkerState } from '../cluster/cluster.js';
import { HEALTHY_NETWORK as HEALTHY, type NetworkFaultSettings } from '../../lib/testing/faults.js';

export const FAULT_KINDS = ['kill', 'stop', 'resign', 'throttle', 'drop', 'latency', 'flaky', 'clock', 'conflict', 'resent', 'partition'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  readonly leaseMs: number;
  readonly skewMs: number;
  /** Mean pause between one fault healing and the next. */
  readonly faultEveryMs: number;
  readonly random: () => number;
  /** The kinds to inject. @default every kind */
  readonly kinds?: readonly FaultKind[];
  /** Checked between faults: true ends the plan (the fault under way heals first). */
  readonly done: () => boolean;
}

/** A wall-clock offset within the allowance: any two workers then differ by at most `skewMs`. */
export function wallOffset(random: () => number, skewMs: number): number {
  return (random() - 0.5) * skewMs;
}

/** Runs faults until `done()`; returns how many of each kind were injected. */
export async function runChaos(cluster: Cluster, options: ChaosOptions): Promise<Record<FaultKind, number>> {
  const { leaseMs, skewMs, random } = options;
  const between = (min: number, max: number) => min + random() * (max - min);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const injected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const kinds = options.kinds ?? FAULT_KINDS;
  const round: FaultKind[] = [...kinds];
  for (let i = round.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [round[i], round[j]] = [round[j]!, round[i]!];
  }

  const network = async (target: WorkerState, settings: Partial<NetworkFaultSettings>, detail: string) => {
    const forMs = between(2_000, 6_000);
    cluster.network(target, { ...HEALTHY, ...settings }, `${detail} for ${(forMs / 1_000).toFixed(1)} s`);
    await delay(forMs);
    cluster.network(target, HEALTHY, 'healed');
  };

  while (!options.done()) {
    await delay(options.faultEveryMs * between(0.5, 1.5));
    const leader = cluster.leader();
    if (!leader) continue;
    const kind = round.shift() ?? pick(kinds);
    injected[kind]++;
    // Network faults and clock steps land on the leader half the time, else on a follower.
    const anyone = random() < 0.5 ? leader : pick(cluster.running());
    switch (kind) {
      case 'kill':
        cluster.kill(leader);
        await delay(1_000); // an orchestrator starts a replacement
        cluster.join(wallOffset(random, skewMs));
        break;
      case 'stop':
        cluster.freeze(leader);
        await delay(leaseMs + skewMs + between(0, 1_500));
        cluster.thaw(leader);
        break;
      case 'resign':
        cluster.resign(leader);
        break;
      case 'throttle': {
        const rate = between(0.2, 0.6);
        await network(anyone, { throttleRate: rate }, `${(rate * 100).toFixed(0)}% of requests throttled`);
        break;
      }
      case 'drop': {
        const rate = between(0.1, 0.4);
        await network(anyone, { dropRate: rate }, `${(rate * 100).toFixed(0)}% of answers lost after the write landed`);
        break;
      }
      case 'latency': {
        const maxLatencyMs = between(50, 300);
        await network(anyone, { maxLatencyMs }, `up to ${maxLatencyMs.toFixed(0)} ms added to each request`);
        break;
      }
      case 'flaky':
        await network(anyone, { throttleRate: 0.15, dropRate: 0.15, maxLatencyMs: 150 }, '15% throttled, 15% answers lost, up to 150 ms latency');
        break;
      case 'clock':
        cluster.clock(anyone, wallOffset(random, skewMs));
        break;
      case 'conflict': {
        // A leader meeting conflicts writes back to back, as the README's loop does, so its own
        // renewals meet its transactions too.
        const rate = between(0.2, 0.5);
        await network(anyone, { conflictRate: rate }, `${(rate * 100).toFixed(0)}% of writes meet another transaction, writes back to back`);
        break;
      }
      case 'partition': {
        // One follower, the leader, or everyone, cut off in silence for up to two leases.
        const scope = pick(['a follower', 'the leader', 'every worker'] as const);
        const followers = cluster.running().filter((w) => w !== leader);
        const cut = scope === 'every worker' ? cluster.running() : scope === 'the leader' || followers.length === 0 ? [leader] : [pick(followers)];
        const forMs = between(leaseMs, 2 * leaseMs);
        const detail = `${scope} cut off in silence for ${(forMs / 1_000).toFixed(1)} s`;
        cluster.partition(cut, true, detail);
        await delay(forMs);
        cluster.partition(cut, false, 'healed');
        break;
      }
      case 'resent': {
        const rate = between(0.1, 0.3);
        await network(anyone, { hiddenRetryRate: rate }, `${(rate * 100).toFixed(0)}% of requests land unseen, the SDK's resends throttled`);
        break;
      }
    }
  }
  return injected;
}
