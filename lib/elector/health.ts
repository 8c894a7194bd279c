/**
 * What an elector reports of its own health, and a `node:http` request listener that answers a
 * container orchestrator's health check with it (ECS container health checks, Kubernetes
 * liveness probes), so a wedged leader is restarted. No framework: mount it wherever the probe
 * calls.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../core/errors.js';
import { rejectUnknownKeys } from '../core/validate.js';
import type { LeaderElector } from './leader-elector.js';

/**
 * An elector's health, as `LeaderElector.health()` reports it without I/O. Times are wall-clock
 * epoch ms on the lease client's clock, for people to read; the fields that describe a
 * leadership are present only while this node leads.
 */
export interface ElectorHealth {
  /**
   * `leader` while this node holds the lease (a resign's drain included); `follower` while `run`
   * campaigns, or waits for a stalled `lead` to settle; `stopped` before `run` and once `close`
   * has begun.
   */
  readonly state: 'leader' | 'follower' | 'stopped';
  /** The fencing token of this node's leadership. Only while leader. */
  readonly fencingToken?: number;
  /** When this node was elected, epoch ms. Only while leader. */
  readonly leaderSince?: number;
  /** When the last renewal of this leadership landed, epoch ms. Only while leader, after the first renewal. */
  readonly lastRenewAt?: number;
  /**
   * Scheduled renewals in a row that have not landed: one for each `renewEveryMs` past the first
   * since the lease was last extended (a renewal is retried until the lease's deadline, so this
   * counts time behind, not attempts). 0 after each renewal that lands, and when not leading.
   */
  readonly renewFailures: number;
  /**
   * This node stepped down because its work stalled or its event loop lagged (`stallMs`,
   * `maxEventLoopLagMs`), and that leadership's `lead` has not settled since: the work is still
   * wedged, and the node will not campaign until it settles.
   */
  readonly stalled: boolean;
}

/** Options of {@link healthListener}. */
export interface HealthListenerOptions {
  /**
   * Answer 503 once `renewFailures` reaches this. At the default renew interval (a third of the
   * lease) a renewal that is one interval late has two thirds of the lease behind it. @default 1
   */
  readonly maxRenewFailures?: number;
}

const LISTENER_OPTIONS = ['maxRenewFailures'] as const;

/**
 * A request listener for `http.createServer` that answers every request with the elector's
 * {@link ElectorHealth} as JSON (no body for `HEAD`), never cached: 200 while healthy, 503 when
 * not. Healthy means the work is not wedged: not `stalled`, and fewer than `maxRenewFailures`
 * renewals behind. A follower and a stopped elector are healthy: restarting them would cure
 * nothing. Throws `InvalidArgumentError` for bad options.
 *
 *   createServer(healthListener(elector)).listen(8080);
 */
export function healthListener(
  elector: Pick<LeaderElector, 'health'>,
  options: HealthListenerOptions = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object');
  rejectUnknownKeys('options', options, LISTENER_OPTIONS);
  const maxRenewFailures = options.maxRenewFailures ?? 1;
  if (typeof maxRenewFailures !== 'number' || !Number.isInteger(maxRenewFailures) || maxRenewFailures < 1) {
    throw new InvalidArgumentError('maxRenewFailures', 'must be a whole number of at least 1');
  }
  return function answerHealthCheck(request, response) {
    const health = elector.health();
    const healthy = !health.stalled && health.renewFailures < maxRenewFailures;
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : JSON.stringify(health));
  };
}
