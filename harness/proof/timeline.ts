/**
 * A run's timeline as a standalone SVG: one lane per worker, a bar for each leadership labelled
 * with its token, ticks for fenced writes (green accepted, red refused, grey answer lost), and a marker for each
 * injected fault.
 *
 * @module
 */
import type { HistoryEvent } from './history.js';
import type { Tenure } from './check.js';

const LANE = 34;
const LEFT = 110;
const MIN_WIDTH = 1100;
/** Long runs get a wider picture (up to 20 px a second) so each failover stays readable. */
const PX_PER_SECOND = 20;
const COLORS = { bar: '#2b6cb0', accepted: '#2f855a', rejected: '#c53030', unknown: '#718096', fault: '#b7791f', text: '#1a202c', grid: '#e2e8f0' };

const escape = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * `lanes`: every worker that took part, so one that never led or wrote still gets its lane;
 * with `onlyLanes`, those lanes and no others (events of anyone else are drawn along the top).
 */
export function timelineSvg(
  events: readonly HistoryEvent[],
  tenures: readonly Tenure[],
  title: string,
  lanes: readonly string[] = [],
  onlyLanes = false,
): string {
  const workers = [...new Set([...lanes, ...(onlyLanes ? [] : events.map((e) => e.worker))])]
    .filter((w) => w !== 'controller' && w !== 'reaper')
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const start = events[0]?.t ?? 0;
  const end = Math.max(start + 1, ...events.map((e) => e.t), ...tenures.map((t) => t.end));
  const width = Math.max(MIN_WIDTH, Math.min(30_000, LEFT + 20 + ((end - start) / 1_000) * PX_PER_SECOND));
  const x = (t: number) => LEFT + ((t - start) / (end - start)) * (width - LEFT - 20);
  const lane = (worker: string) => 40 + workers.indexOf(worker) * LANE;
  const height = 40 + workers.length * LANE + 50;
  const parts: string[] = [];

  for (let s = 0; s <= (end - start) / 1_000; s += 5) {
    const gx = x(start + s * 1_000);
    parts.push(`<line x1="${gx}" y1="30" x2="${gx}" y2="${height - 40}" stroke="${COLORS.grid}"/>`);
    parts.push(`<text x="${gx}" y="${height - 24}" font-size="11" text-anchor="middle" fill="${COLORS.text}">${s}s</text>`);
  }
  for (const worker of workers) {
    parts.push(`<text x="8" y="${lane(worker) + 16}" font-size="13" fill="${COLORS.text}">${escape(worker)}</text>`);
  }
  for (const tenure of tenures) {
    if (!workers.includes(tenure.worker)) continue;
    const [x1, x2] = [x(tenure.start), x(tenure.end)];
    parts.push(
      `<rect x="${x1}" y="${lane(tenure.worker) + 4}" width="${Math.max(1, x2 - x1)}" height="18" rx="3" fill="${COLORS.bar}">` +
        `<title>${escape(`${tenure.worker} leads with token ${tenure.token} for ${((tenure.end - tenure.start) / 1_000).toFixed(2)} s, ended by ${tenure.endedBy}`)}</title></rect>`,
    );
    if (x2 - x1 > 22) parts.push(`<text x="${x1 + 4}" y="${lane(tenure.worker) + 17}" font-size="11" fill="white">#${tenure.token}</text>`);
  }
  for (const event of events) {
    if (event.kind === 'write' && workers.includes(event.worker)) {
      const color = event.outcome === 'accepted' ? COLORS.accepted : event.outcome === 'refused' ? COLORS.rejected : COLORS.unknown;
      parts.push(`<line x1="${x(event.t)}" y1="${lane(event.worker) + 24}" x2="${x(event.t)}" y2="${lane(event.worker) + 30}" stroke="${color}"/>`);
    }
    if (event.kind === 'fault') {
      const fx = x(event.t);
      const y = workers.includes(event.worker) ? lane(event.worker) : 30;
      parts.push(
        `<path d="M${fx - 5},${y} L${fx + 5},${y} L${fx},${y + 8} Z" fill="${COLORS.fault}"><title>${escape(`${event.fault} ${event.worker}${event.detail ? `: ${event.detail}` : ''}`)}</title></path>`,
        `<text x="${fx + 6}" y="${y + 2}" font-size="10" fill="${COLORS.fault}">${escape(event.fault)}</text>`,
      );
    }
  }
  const legend =
    `<text x="${LEFT}" y="${height - 6}" font-size="11" fill="${COLORS.text}">` +
    `bars: leadership (#token) · ticks: fenced writes, <tspan fill="${COLORS.accepted}">accepted</tspan> / ` +
    `<tspan fill="${COLORS.rejected}">refused</tspan> / <tspan fill="${COLORS.unknown}">answer lost</tspan> · <tspan fill="${COLORS.fault}">▼ faults</tspan></text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="20" font-size="15" font-weight="bold" fill="${COLORS.text}">${escape(title)}</text>`,
    ...parts,
    legend,
    '</svg>',
  ].join('\n');
}

/**
 * A group-mode run's timeline: one lane per partition (`p<name>`), a bar per ownership labelled
 * with its token (hover for the owner), writes on their partition's lane, faults along the top.
 */
export function groupTimelineSvg(events: readonly HistoryEvent[], tenures: readonly (Tenure & { partition: string })[], title: string): string {
  const lane = (partition: string) => `p${partition}`;
  const laned = events.map((e) => (e.partition === undefined ? e : { ...e, worker: lane(e.partition) }));
  const bars = tenures.map((t) => ({ ...t, worker: lane(t.partition), endedBy: `${t.endedBy} (owner ${t.worker})` }));
  const lanes = [...new Set(tenures.map((t) => lane(t.partition)))];
  return timelineSvg(laned, bars, title, lanes, true);
}
