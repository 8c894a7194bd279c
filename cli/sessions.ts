/**
 * How the CLI reads sessions and lease groups out of lease items: which items are sessions (by
 * the name `<group>#session#<id>`, the one sign a scanned item carries), and whether a session is alive by the contender rule.
 *
 * @module
 */
import type { LeaseDescription } from '../lib/index.js';

/** A session's place in its group, read from its lease name. */
export interface SessionName {
  readonly group: string;
  readonly id: string;
}

const SESSION_INFIX = '#session#';

/**
 * `{ group, id }` if `name` is a session's lease name, `<group>#session#<id>`. A group name never
 * contains `#`, so the group ends at the first one; the id may contain anything.
 */
export function sessionNameOf(name: string): SessionName | undefined {
  const end = name.indexOf('#');
  if (end <= 0 || !name.startsWith(SESSION_INFIX, end)) return undefined;
  const id = name.slice(end + SESSION_INFIX.length);
  return id.length > 0 ? { group: name.slice(0, end), id } : undefined;
}

/** The fields of a session item that say whether it is alive. */
interface SessionState {
  readonly state: string;
  readonly fencingToken: number;
  readonly expiresAt: number;
}

/**
 * Whether a session is alive to a contender whose wall clock reads `now` and who allows `skewMs`
 * of skew: held, in `generation` (when given), and not past `expiresAt + skewMs`. The rule a
 * group member applies before taking a dead member's partitions (`sessionIsDead`).
 */
export function sessionAlive(session: SessionState | undefined, now: number, skewMs: number, generation?: number): boolean {
  if (!session || session.state !== 'held') return false;
  if (generation !== undefined && session.fencingToken !== generation) return false;
  return !(session.expiresAt < now - skewMs);
}

/** The owner session of a lease that is held through one; a released lease may still name its last. */
export function heldOwner(lease: LeaseDescription): LeaseDescription['owner'] {
  return lease.state === 'held' ? lease.owner : undefined;
}
