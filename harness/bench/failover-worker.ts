/**
 * One participant of the failover benchmark, in its own process so the controller can SIGKILL
 * it: starts the named library's contender and reports, on the shared clock, when it leads.
 */
import { historyNow } from '../proof/history.js';
import { contenderNamed, type ContenderOptions } from './peers/index.js';

export type FailoverWorkerMessage = { type: 'ready' } | { type: 'leading'; t: number };

const { contender, options } = JSON.parse(process.argv[2]!) as { contender: string; options: ContenderOptions };
const send = (message: FailoverWorkerMessage) => process.send?.(message);
contenderNamed(contender).start(options, () => send({ type: 'leading', t: historyNow() }));
send({ type: 'ready' });
