/**
 * A seeded pseudo-random source, so a chaos run's choices can be replayed from its printed seed.
 * mulberry32: a few lines with good statistical quality for picking faults; not worth a dependency.
 *
 * @module
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
