// A self-contained HTML report (inline SVG and CSS, no scripts, no external assets): a verdict
// table first, then per experiment its charts at the timeline's resolution (100 ms) with the fault
// window shaded and the recovery phases marked, and the traffic each replica served.
import { formatMs } from '../experiments/duration.js';
import { PHASES } from '../experiments/recovery.js';
import type { ExperimentResult } from '../experiments/result.js';
import type { RepeatSummary, Report } from './report.js';
import {
  describePhases,
  percent,
  retryPolicies,
  showDifference,
  showEstimate,
  shownFigures,
  showValue,
} from './summary.js';

const esc = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

const W = 760;
const PLOT_H = 150;
const M = { left: 58, right: 14, top: 20, bottom: 28 };

/** About `count` round steps (1, 2 or 5 times a power of ten) covering 0..max. */
export function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const values: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) values.push(Math.round(v * 1e6) / 1e6);
  if ((values.at(-1) ?? 0) < max) values.push(Math.round(values.length * step * 1e6) / 1e6);
  return values;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1));

interface Series {
  name: string;
  points: Array<[number, number]>;
}

interface Marker {
  /** The phases it marks, space-separated (recovery field names). */
  phase: string;
  label: string;
  /** Seconds from the experiment's start. */
  at: number;
}

interface ChartSpec {
  kind: string;
  title: string;
  unit: string;
  series: Series[];
  xMax: number;
  window: [number, number] | null;
  markers: Marker[];
}

/** Approximate width of a character of the 10 px labels, to keep marker labels from overlapping. */
const CHAR_PX = 5.6;
const ROW_PX = 11;

/**
 * Marker labels in rows above the plot: each goes to the first row where it clears the label
 * before it (phases often fall within a few ms of each other); near the right edge it ends at its line.
 */
function layoutMarkers(markers: Marker[], x: (v: number) => number) {
  const rowEnds: number[] = [];
  return [...markers]
    .sort((a, b) => a.at - b.at)
    .map((m) => {
      const at = x(m.at);
      const width = m.label.length * CHAR_PX + 6;
      const flip = at + width > W - M.right;
      const [left, right] = flip ? [at - width, at] : [at, at + width];
      let row = rowEnds.findIndex((end) => end < left);
      if (row === -1) row = rowEnds.push(right) - 1;
      else rowEnds[row] = right;
      return { ...m, x: at, row, flip };
    });
}

function chart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  if (all.length === 0) return '';
  const xTicks = ticks(spec.xMax, 8);
  // A series of zeros (no failure at all) still gets a scale to sit on.
  const yTicks = ticks(Math.max(...all.map(([, y]) => y)) || 1, 4);
  const xMax = xTicks.at(-1) || 1;
  const yMax = yTicks.at(-1) || 1;
  const x = (v: number) => M.left + (v / xMax) * (W - M.left - M.right);
  const labels = layoutMarkers(spec.markers, x);
  const rows = Math.max(0, ...labels.map((l) => l.row + 1));
  const plot = { top: M.top + rows * ROW_PX, bottom: M.top + rows * ROW_PX + PLOT_H };
  const height = plot.bottom + M.bottom;
  const y = (v: number) => plot.bottom - (v / yMax) * PLOT_H;
  const n = (v: number) => v.toFixed(1);
  const shade = spec.window
    ? `<rect class="fault" x="${n(x(spec.window[0]))}" y="${plot.top}" width="${n(Math.max(2, x(spec.window[1]) - x(spec.window[0])))}" height="${PLOT_H}"><title>fault active</title></rect>`
    : '';
  const xAxis = xTicks
    .map(
      (t) =>
        `<g class="tick x"><line x1="${n(x(t))}" y1="${plot.bottom}" x2="${n(x(t))}" y2="${plot.bottom + 4}"/><text x="${n(x(t))}" y="${plot.bottom + 16}" text-anchor="middle">${fmt(t)} s</text></g>`,
    )
    .join('');
  const yAxis = yTicks
    .map(
      (t) =>
        `<g class="tick y"><line class="grid" x1="${M.left}" y1="${n(y(t))}" x2="${W - M.right}" y2="${n(y(t))}"/><text x="${M.left - 6}" y="${n(y(t) + 3)}" text-anchor="end">${fmt(t)}</text></g>`,
    )
    .join('');
  const markers = labels
    .map((m) => {
      const top = M.top + m.row * ROW_PX;
      return `<g class="marker" data-phase="${esc(m.phase)}"><line x1="${n(m.x)}" y1="${top}" x2="${n(m.x)}" y2="${plot.bottom}"/><text x="${n(m.flip ? m.x - 3 : m.x + 3)}" y="${top + 9}"${m.flip ? ' text-anchor="end"' : ''}>${esc(m.label)}</text></g>`;
    })
    .join('');
  const lines = spec.series
    .map(
      (s, i) =>
        `<path class="series s${i % 8}" data-series="${esc(s.name)}" d="${s.points.map(([px, py], j) => `${j ? 'L' : 'M'}${n(x(px))},${n(y(py))}`).join(' ')}"/>`,
    )
    .join('');
  const legend =
    spec.series.length > 1
      ? `<ul class="legend">${spec.series.map((s, i) => `<li class="s${i % 8}">${esc(s.name)}</li>`).join('')}</ul>`
      : '';
  return `<figure class="chart" data-chart="${esc(spec.kind)}"><figcaption>${esc(spec.title)} <small>(${esc(spec.unit)})</small></figcaption>${legend}
<svg viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(spec.title)}">${shade}${yAxis}
<line class="axis" x1="${M.left}" y1="${plot.bottom}" x2="${W - M.right}" y2="${plot.bottom}"/><line class="axis" x1="${M.left}" y1="${plot.top}" x2="${M.left}" y2="${plot.bottom}"/>${xAxis}
<text class="unit" x="4" y="${plot.top - 10}">${esc(spec.unit)}</text>${lines}${markers}</svg></figure>`;
}

/** The bucket width of a series of bucket starts (in s): the smallest gap between two of them. */
function bucketSeconds(seconds: readonly number[]): number {
  let width = Number.POSITIVE_INFINITY;
  for (let i = 1; i < seconds.length; i++)
    width = Math.min(width, (seconds[i] as number) - (seconds[i - 1] as number));
  return Number.isFinite(width) && width > 0 ? Math.round(width * 1000) / 1000 : 1;
}

/** A count per bucket as a rate per second at the bucket's middle, with the buckets that saw no request at 0. */
function rate(
  buckets: ReadonlyArray<{ second: number; value: number }>,
  width: number,
): Array<[number, number]> {
  if (buckets.length === 0) return [];
  const byIndex = new Map(buckets.map((b) => [Math.round(b.second / width), b.value]));
  const first = Math.round((buckets[0]?.second ?? 0) / width);
  const last = Math.round((buckets.at(-1)?.second ?? 0) / width);
  return Array.from({ length: last - first + 1 }, (_, i) => {
    const index = first + i;
    return [Math.round((index + 0.5) * width * 1000) / 1000, (byIndex.get(index) ?? 0) / width] as [
      number,
      number,
    ];
  });
}

/** One marker per instant: phases reached at the same ms share a line and a label. */
function markersOf(e: ExperimentResult, injectedAt: number): Marker[] {
  const byMs = new Map<number, Array<[string, string]>>();
  for (const [phase, label] of PHASES) {
    const ms = e.recovery[phase];
    // A disruption has no removal: its faultEndedMs is 0, the injection itself.
    if (ms === null || (phase === 'faultEndedMs' && ms === 0)) continue;
    byMs.set(ms, [...(byMs.get(ms) ?? []), [phase, label]]);
  }
  return [...byMs].map(([ms, reached]) => ({
    phase: reached.map(([phase]) => phase).join(' '),
    label: `${reached.map(([, label]) => label).join(', ')} +${formatMs(ms)}`,
    at: injectedAt + ms / 1000,
  }));
}

const anchor = (index: number) => `experiment-${index + 1}`;

function integrityOf(e: ExperimentResult): string {
  if (!e.integrity) return '-';
  return `${e.integrity.readBack}/${e.integrity.acknowledged} read back`;
}

/** The steady-state hypothesis: each probe before the fault, its samples while on, after it; the abort that fired. */
function probesOf(e: ExperimentResult): string {
  const probes = e.probes ?? { before: [], during: [], after: [] };
  const names = [...new Set([...probes.before, ...probes.after, ...probes.during].map((p) => p.name))];
  const abort = e.abort
    ? `<p class="error">Aborted by ${esc(e.abort.condition)}: ${esc(e.abort.detail)}.</p>`
    : '';
  if (names.length === 0) return abort;
  const cell = (result: { ok: boolean; detail: string } | undefined) =>
    result
      ? `<td class="${result.ok ? 'pass' : 'fail'}">${result.ok ? 'held' : 'FAILED'}: ${esc(result.detail)}</td>`
      : '<td>-</td>';
  const rows = names
    .map((name) => {
      const during = probes.during.find((d) => d.name === name);
      return `<tr><td>${esc(name)}</td>${cell(probes.before.find((p) => p.name === name))}<td class="${during?.failed ? 'fail' : ''}">${during ? `${during.samples - during.failed}/${during.samples} held${during.firstFailure ? `; first failure: ${esc(during.firstFailure)}` : ''}` : '-'}</td>${cell(probes.after.find((p) => p.name === name))}</tr>`;
    })
    .join('');
  return `${abort}<h3>Steady-state hypothesis</h3><table><thead><tr><th>probe</th><th>before the fault</th><th>while it was on</th><th>after it</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function verdictTable(experiments: ExperimentResult[]): string {
  const rows = experiments
    .map(
      (e, i) =>
        `<tr class="${e.status}"><td><a href="#${anchor(i)}">${esc(e.name)}</a></td><td class="verdict">${e.status.toUpperCase()}</td><td>${e.recovery.totalMs === null ? 'not measured' : formatMs(e.recovery.totalMs)}${describePhases(e) ? `<br><small>${esc(describePhases(e))}</small>` : ''}</td><td>${percent(e.traffic.during.errorRate)} <small>(${e.traffic.during.failed}/${e.traffic.during.requests}${e.traffic.during.retried ? `, ${e.traffic.during.retried} retried` : ''})</small></td><td>${formatMs(e.traffic.during.p95Ms)}</td><td class="${e.integrity && !e.integrity.passed ? 'bad' : ''}">${esc(integrityOf(e))}</td></tr>`,
    )
    .join('\n');
  return `<table class="verdicts"><thead><tr><th>experiment</th><th>verdict</th><th>recovery and its phases</th><th>errors during</th><th>p95 during</th><th>integrity</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function repeatsTable(repeats: RepeatSummary[]): string {
  const rows = repeats
    .map((r) => {
      const figures = shownFigures(r).map(
        ({ figure, label, estimate }) =>
          `${esc(label)}: ${esc(showEstimate(estimate, figure))}${estimate.runs < r.runs ? ` <small>(${estimate.runs} runs)</small>` : ''}`,
      );
      const baseline = r.baseline
        ? `<td class="gate ${r.baseline.verdict}">${r.baseline.verdict.toUpperCase()} <small>(min effect ${esc(r.baseline.minEffect)})</small><br>${Object.entries(
            r.baseline.checks,
          )
            .map(
              ([figure, c]) =>
                `${figure === 'recoveryMs' ? 'recovery' : 'p95 during'} ${esc(showDifference(c))}: ${c.verdict}<br><small>${esc(c.reason)}</small>`,
            )
            .join('<br>')}</td>`
        : '<td>-</td>';
      return `<tr><td>${esc(r.name)}</td><td>${r.runs}</td><td>${figures.join('<br>')}</td>${baseline}</tr>`;
    })
    .join('\n');
  return `<h2>Over the runs</h2><p>Medians with 95% percentile-bootstrap intervals (2,000 resamples, seeded). Against a baseline, a figure regresses only when the whole interval of the difference of medians lies above the minimum effect.</p>
<table class="repeats"><thead><tr><th>experiment</th><th>runs</th><th>median (95% CI)</th><th>against the baseline</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function replicaSection(
  e: ExperimentResult,
  xMax: number,
  window: [number, number] | null,
  markers: Marker[],
): string {
  const { totals, series } = e.traffic.replicas;
  const names = Object.keys(totals).sort();
  if (names.length === 0) return '<p class="note">No traffic was served.</p>';
  const total = names.reduce((n, name) => n + (totals[name] ?? 0), 0);
  const width = bucketSeconds(series.map((s) => s.second));
  const rows = names
    .map(
      (name) =>
        `<tr><td>${esc(name)}</td><td>${totals[name] ?? 0}</td><td>${percent(total ? (totals[name] ?? 0) / total : 0)}</td></tr>`,
    )
    .join('');
  const lines = names.map((name) => ({
    name,
    points: rate(
      series.map((s) => ({ second: s.second, value: s.counts[name] ?? 0 })),
      width,
    ),
  }));
  return `<table class="replicas"><thead><tr><th>replica (X-Served-By)</th><th>requests</th><th>share</th></tr></thead><tbody>${rows}</tbody></table>
${chart({ kind: 'replicas', title: `traffic per replica, ${Math.round(width * 1000)} ms buckets`, unit: 'req/s', series: lines, xMax, window, markers })}`;
}

function section(e: ExperimentResult, index: number): string {
  const origin = Date.parse(e.startedAt);
  const injectedAt = e.fault.injectedAt ? (Date.parse(e.fault.injectedAt) - origin) / 1000 : null;
  const window: [number, number] | null =
    injectedAt !== null && e.fault.removedAt
      ? [injectedAt, (Date.parse(e.fault.removedAt) - origin) / 1000]
      : null;
  const markers = injectedAt === null ? [] : markersOf(e, injectedAt);
  const timeline = e.timeline.filter((t) => t.second >= 0);
  const width = bucketSeconds(timeline.map((t) => t.second));
  const xMax = Math.max(1, (timeline.at(-1)?.second ?? 0) + width, ...markers.map((m) => m.at));
  const pick = (key: 'p50Ms' | 'p95Ms' | 'p99Ms') =>
    timeline.map((t) => [Math.round((t.second + width / 2) * 1000) / 1000, t[key]] as [number, number]);
  const thresholds = e.thresholds
    .map(
      (t) =>
        `<tr class="${t.passed ? 'pass' : 'fail'}"><td>${esc(t.name)}</td><td>${esc(showValue(t.measured, t.unit))}</td><td>${esc(showValue(t.limit, t.unit))}</td><td>${t.passed ? 'PASS' : 'FAIL'}</td></tr>`,
    )
    .join('');
  // Only a retrying client has requests that needed a retry.
  const retrying = Boolean(e.traffic.retry?.retries);
  const windows = (['before', 'during', 'after'] as const)
    .map((w) => {
      const s = e.traffic[w];
      return `<tr><td>${w}</td><td>${s.requests}</td><td>${s.failed}</td>${retrying ? `<td>${s.retried}</td>` : ''}<td>${percent(s.errorRate)}</td><td>${s.p50Ms}</td><td>${s.p95Ms}</td><td>${s.p99Ms}</td></tr>`;
    })
    .join('');
  const resolution = `${Math.round(width * 1000)} ms`;
  return `<section id="${anchor(index)}" class="${e.status}"><h2>${esc(e.name)} <span>${e.status.toUpperCase()}</span></h2>
${e.error ? `<p class="error">${esc(e.error)}</p>` : ''}
<p>${esc(e.fault.summary)} (${esc(e.backend)} backend). ${e.fault.verified ? 'Landed' : 'Did not land'}: ${esc(e.fault.evidence)}.</p>
<p>Recovery: ${e.recovery.totalMs === null ? 'not measured' : formatMs(e.recovery.totalMs)}. Phases from the fault: ${esc(describePhases(e) || 'none reached')}.</p>
<p>Integrity: ${esc(integrityOf(e))}.</p>
${probesOf(e)}
<table><thead><tr><th>threshold</th><th>measured</th><th>limit</th><th></th></tr></thead><tbody>${thresholds}</tbody></table>
<table><thead><tr><th>window</th><th>requests</th><th>failed</th>${retrying ? '<th>retried</th>' : ''}<th>errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr></thead><tbody>${windows}</tbody></table>
<h3>Traffic by due time, ${resolution} buckets</h3>
${chart({
  kind: 'throughput',
  title: 'throughput',
  unit: 'req/s',
  series: [
    {
      name: 'requests',
      points: rate(
        timeline.map((t) => ({ second: t.second, value: t.requests })),
        width,
      ),
    },
  ],
  xMax,
  window,
  markers,
})}
${chart({
  kind: 'errors',
  title: 'failed requests',
  unit: 'failed/s',
  series: [
    {
      name: 'failed',
      points: rate(
        timeline.map((t) => ({ second: t.second, value: t.failed })),
        width,
      ),
    },
  ],
  xMax,
  window,
  markers,
})}
${chart({
  kind: 'latency',
  title: 'latency percentiles',
  unit: 'ms',
  series: [
    { name: 'p50', points: pick('p50Ms') },
    { name: 'p95', points: pick('p95Ms') },
    { name: 'p99', points: pick('p99Ms') },
  ],
  xMax,
  window,
  markers,
})}
<h3>Traffic per replica</h3>
${replicaSection(e, xMax, window, markers)}
</section>`;
}

export function renderHtml(report: Report): string {
  const { experiments } = report;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chaosctl report: ${report.verdict.toUpperCase()}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em auto;max-width:960px;padding:0 1em;color:#222}
h1 span,h2 span{font-size:.8em;padding:.1em .4em;border-radius:4px;color:#fff;background:#888}
.pass h2 span,h1.pass span{background:#2a7d2a}.fail h2 span,h1.fail span{background:#b22}.error h2 span,h1.error span,h1.inconclusive span{background:#c80}
section{border-top:1px solid #ddd;margin-top:2em}table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
tr.fail td,td.bad{color:#b22}.error{color:#c80}tr.pass td.verdict{color:#2a7d2a;font-weight:bold}tr.fail td.verdict{font-weight:bold}tr.error td.verdict{color:#c80;font-weight:bold}
td.gate.regression{color:#b22}td.gate.inconclusive{color:#c80}small{color:#666}
svg{width:100%;height:auto;background:#fcfcfc}svg text{font-size:10px;fill:#555}
.series{fill:none;stroke-width:1.3}.s0{stroke:#2b5797;color:#2b5797}.s1{stroke:#d9822b;color:#d9822b}.s2{stroke:#b22;color:#b22}.s3{stroke:#2a7d2a;color:#2a7d2a}
.s4{stroke:#7b3fa0;color:#7b3fa0}.s5{stroke:#0f8b8d;color:#0f8b8d}.s6{stroke:#8c564b;color:#8c564b}.s7{stroke:#555;color:#555}
.fault{fill:#f4c7c3;opacity:.6}.axis,.tick line{stroke:#999}.tick line.grid{stroke:#e8e8e8}.marker line{stroke:#444;stroke-dasharray:3 2}
.marker text{fill:#222;paint-order:stroke;stroke:#fcfcfc;stroke-width:3px}
ul.legend{list-style:none;margin:0;padding:0;font-size:12px}ul.legend li{display:inline-block;margin-right:1em}ul.legend li::before{content:"";display:inline-block;width:14px;height:3px;margin-right:4px;vertical-align:middle;background:currentColor}
figure{margin:.8em 0}figcaption{font-size:13px;color:#333}.note{color:#666}
</style></head><body>
<h1 class="${report.verdict}">chaosctl <span>${report.verdict.toUpperCase()}</span></h1>
<p>${report.experiments.length} experiment${report.experiments.length === 1 ? '' : 's'}, driver ${esc(report.driver)}, ${esc(report.startedAt)} to ${esc(report.finishedAt)}.</p>
${verdictTable(experiments)}
${retryPolicies(report)
  .map(
    (policy) =>
      `<p class="note">Traffic: ${esc(policy)}. Errors are what still failed after the retries.</p>`,
  )
  .join('\n')}
${report.repeats?.length ? repeatsTable(report.repeats) : ''}
<p class="note">In the charts: shaded, the fault window; dashed lines, the recovery phases from the injection. Requests count in the bucket of their due time.</p>
${experiments.map(section).join('\n')}
</body></html>
`;
}
