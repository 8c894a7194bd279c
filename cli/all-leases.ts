import type { LeaseClient, LeaseDescription } from '../lib/index.js';

/** Every lease in the table, sorted by name: what `list` prints and `watch` compares. */
export async function allLeases(leases: LeaseClient): Promise<LeaseDescription[]> {
  const all: LeaseDescription[] = [];
  for await (const lease of leases.list()) all.push(lease);
  return all.sort((a, b) => a.name.localeCompare(b.name));
}
