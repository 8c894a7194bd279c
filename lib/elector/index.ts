export { LeaderElector } from './leader-elector.js';
export type { LeaderElectorEvents, Leadership, LeaderInfo } from './leader-elector.js';
export type { LeaderElectorOptions, ResignOptions } from './options.js';
export { observeLeader } from './observe-leader.js';
export type { ObserveLeaderOptions } from './observe-leader.js';
export { noMetrics, powertoolsElectionMetrics } from './metrics.js';
export type { ElectionMetrics, ElectionCounter, ElectionDuration, PowertoolsMetricsLike } from './metrics.js';
