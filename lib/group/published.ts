/**
 * What a lease group member publishes in its session item, `{ weight, owns, wants }`, and reading
 * it back: the members read each other by it, and so does the CLI.
 *
 * @module
 */

/** What a member publishes: its weight, the partitions it owns, and those it asks to be handed. */
export interface Published {
  readonly weight: number;
  readonly owns: readonly string[];
  readonly wants: readonly string[];
}

/** What a member published, read defensively (another version may publish more, or less): weight 1 if unset. */
export function publishedOf(data: Record<string, unknown> | undefined): Published {
  const weight = typeof data?.weight === 'number' && Number.isFinite(data.weight) && data.weight > 0 ? data.weight : 1;
  const list = (value: unknown) => (Array.isArray(value) ? [...new Set(value.filter((item): item is string => typeof item === 'string'))] : []);
  return { weight, owns: list(data?.owns), wants: list(data?.wants) };
}
