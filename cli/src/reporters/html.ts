// A self-contained HTML report (no scripts, no external assets): per experiment, throughput,
// failures and p95 latency per second as SVG charts with the fault window shaded.
import type { ExperimentResult } from '../experiments/runner.js';
import type { Report } from './report.js';

const esc = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

const W = 640;
const H = 140;
const PAD = 32;

function chart(
  title: string,
  points: Array<[number, number]>,
  window: [number, number] | null,
  unit: string,
): string {
  if (points.length === 0) return '';
  const maxX = Math.max(1, ...points.map(([x]) => x));
  const maxY = Math.max(1, ...points.map(([, y]) => y));
  const x = (v: number) => PAD + (v / maxX) * (W - 2 * PAD);
  const y = (v: number) => H - PAD + 8 - (v / maxY) * (H - PAD - 8);
  const path = points
    .map(([px, py], i) => `${i ? 'L' : 'M'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
    .join(' ');
  const shade = window
    ? `<rect class="fault" x="${x(window[0]).toFixed(1)}" y="8" width="${Math.max(2, x(window[1]) - x(window[0])).toFixed(1)}" height="${H - PAD}"/>`
    : '';
  return `<figure><figcaption>${esc(title)}</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${shade}
<line class="axis" x1="${PAD}" y1="${H - PAD + 8}" x2="${W - PAD}" y2="${H - PAD + 8}"/>
<text x="2" y="16">${maxY.toFixed(0)} ${esc(unit)}</text><text x="${W - PAD}" y="${H - 4}">${maxX} s</text>
<path d="${path}"/></svg></figure>`;
}

function section(e: ExperimentResult): string {
  const origin = Date.parse(e.startedAt);
  const window: [number, number] | null =
    e.fault.injectedAt && e.fault.removedAt
      ? [(Date.parse(e.fault.injectedAt) - origin) / 1000, (Date.parse(e.fault.removedAt) - origin) / 1000]
      : null;
  const series = (pick: (t: ExperimentResult['timeline'][number]) => number) =>
    e.timeline.filter((t) => t.second >= 0).map((t) => [t.second, pick(t)] as [number, number]);
  const rows = e.thresholds
    .map(
      (t) =>
        `<tr class="${t.passed ? 'pass' : 'fail'}"><td>${esc(t.name)}</td><td>${esc(String(t.measured))}</td><td>${esc(String(t.limit))}</td><td>${t.passed ? 'PASS' : 'FAIL'}</td></tr>`,
    )
    .join('');
  const phases = (['before', 'during', 'after'] as const)
    .map((p) => {
      const s = e.traffic[p];
      return `<tr><td>${p}</td><td>${s.requests}</td><td>${(s.errorRate * 100).toFixed(2)}%</td><td>${s.p50Ms}</td><td>${s.p95Ms}</td><td>${s.p99Ms}</td></tr>`;
    })
    .join('');
  return `<section class="${e.status}"><h2>${esc(e.name)} <span>${e.status.toUpperCase()}</span></h2>
${e.error ? `<p class="error">${esc(e.error)}</p>` : ''}
<p>${esc(e.fault.evidence)}. Recovery: ${e.recovery.totalMs === null ? 'not measured' : `${(e.recovery.totalMs / 1000).toFixed(2)} s`}.
${e.integrity ? `Orders read back: ${e.integrity.readBack}/${e.integrity.acknowledged}; stock ${e.integrity.stockConserved ? 'conserved' : 'NOT conserved'}.` : ''}</p>
<table><tr><th>threshold</th><th>measured</th><th>limit</th><th></th></tr>${rows}</table>
<table><tr><th>phase</th><th>requests</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>${phases}</table>
${chart(
  'requests per second',
  series((t) => t.requests),
  window,
  'req/s',
)}
${chart(
  'failed requests per second',
  series((t) => t.failed),
  window,
  'failed/s',
)}
${chart(
  'p95 latency',
  series((t) => t.p95Ms),
  window,
  'ms',
)}
</section>`;
}

export function renderHtml(report: Report): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chaosctl report: ${report.verdict.toUpperCase()}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em auto;max-width:720px;color:#222}
h1 span,h2 span{font-size:.8em;padding:.1em .4em;border-radius:4px;color:#fff;background:#888}
.pass h2 span,h1.pass span{background:#2a7d2a}.fail h2 span,h1.fail span{background:#b22}.error h2 span,h1.error span{background:#c80}
section{border-top:1px solid #ddd;margin-top:2em}table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;text-align:left}
tr.fail td{color:#b22}.error{color:#c80}svg{width:100%;height:auto;background:#fafafa}
svg path{fill:none;stroke:#2b5797;stroke-width:1.5}.fault{fill:#f4c7c3}.axis{stroke:#999}svg text{font-size:10px;fill:#666}
figure{margin:.5em 0}figcaption{font-size:12px;color:#555}
</style></head><body>
<h1 class="${report.verdict}">chaosctl <span>${report.verdict.toUpperCase()}</span></h1>
<p>${report.experiments.length} experiments, driver ${esc(report.driver)}, ${esc(report.startedAt)} to ${esc(report.finishedAt)}. Shaded: fault window.</p>
${report.experiments.map(section).join('\n')}
</body></html>
`;
}
