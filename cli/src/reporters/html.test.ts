// The HTML report as a person sees it: rendered by headless Chromium (Debian's `chromium`, driven
// by playwright-core), read back from the DOM the browser built, and photographed for a person to
// look at. The report holds three synthetic runs of a pod-kill (test-support/pod-kill-run.ts) and a baseline.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium, type Page } from 'playwright-core';
import { renderHtml } from './html.js';
import { buildReport } from './report.js';
import { podKill, T0 } from './test-support/pod-kill-run.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the screenshot goes, for a person to look at (overwritten by each run). */
const SCREENSHOT = join(tmpdir(), 'chaosctl-html-report.png');

let browser: Browser;
let page: Page;
const work = mkdtempSync(join(tmpdir(), 'chaosctl-html-'));
const requested: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `headless Chromium is needed to render the report and was not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`,
    );
  const runs = [
    podKill('pod-kill order-service #1', 400),
    podKill('pod-kill order-service #2', 600),
    {
      ...podKill('pod-kill order-service #3', 200),
      probes: {
        before: [
          {
            name: 'stock conserved',
            phase: 'before' as const,
            ok: true,
            at: T0,
            latencyMs: 3,
            detail: 'read {"PROD-001":1000}',
          },
        ],
        during: [{ name: 'stock conserved', samples: 5, failed: 1, firstFailure: 'no answer within 5 s' }],
        after: [
          {
            name: 'stock conserved',
            phase: 'after' as const,
            ok: true,
            at: T0 + 4000,
            latencyMs: 4,
            detail: 'read {"PROD-001":1000}',
          },
        ],
      },
    },
  ];
  const baseline = buildReport('local', new Date(T0), [podKill('pod-kill order-service', 400)], 'test');
  const report = buildReport('local', new Date(T0), runs, 'test', {
    report: baseline,
    minEffect: { ms: 250 },
  });
  const file = join(work, 'chaos-report.html');
  writeFileSync(file, renderHtml(report));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(`file://${file}`);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the HTML report in Chromium', () => {
  it('opens with a verdict table: one row per run with its phases, errors, p95 and integrity', async () => {
    expect(
      await page
        .locator('body > *')
        .first()
        .evaluate((h) => h.tagName),
    ).toBe('H1');
    // Run 2 failed its error-rate threshold: a failure outranks an inconclusive comparison.
    expect(await page.locator('h1').textContent()).toBe('chaosctl FAIL');
    const rows = page.locator('table.verdicts tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await rows.locator('td.verdict').allTextContents()).toEqual(['PASS', 'FAIL', 'PASS']);
    const first = await rows.nth(0).locator('td').allTextContents();
    expect(first[0]).toBe('pod-kill order-service #1');
    expect(first[1]).toBe('PASS');
    expect(first[2]).toMatch(/^1\.3 s/);
    expect(first[2]).toMatch(/first failure \+25 ms.*capacity restored \+1\.3 s/);
    expect(first[3]).toBe('15.38% (10/65)');
    expect(first[4]).toBe('55 ms');
    expect(first[5]).toMatch(/^(\d+)\/\1 read back$/);
    // The table comes before any chart.
    const tableTop = (await page.locator('table.verdicts').boundingBox())?.y ?? Number.POSITIVE_INFINITY;
    expect(tableTop).toBeLessThan((await page.locator('figure.chart').first().boundingBox())?.y ?? 0);
  });

  it('gives medians with intervals over the runs and the baseline gate with its reason', async () => {
    const cells = await page.locator('table.repeats tbody tr td').allTextContents();
    expect(cells[0]).toBe('pod-kill order-service');
    expect(cells[1]).toBe('3');
    expect(cells[2]).toMatch(/recovery: \S+ m?s \(95% CI \S+ m?s to \S+ m?s\)/);
    // One baseline run: too few to tell.
    expect(cells[3]).toMatch(/^INCONCLUSIVE \(min effect 250 ms\)/);
    expect(cells[3]).toMatch(/at least 3 on each side/);
  });

  it('charts every experiment at 100 ms with ticks on both axes, the fault shaded and the phases marked', async () => {
    const section = page.locator('section#experiment-1');
    for (const kind of ['throughput', 'errors', 'latency', 'replicas']) {
      const svg = section.locator(`figure[data-chart="${kind}"] svg`);
      expect(await svg.count()).toBe(1);
      const xTicks = await svg.locator('g.tick.x text').allTextContents();
      expect(xTicks.length).toBeGreaterThanOrEqual(4);
      expect(xTicks.slice(0, 2)).toEqual(['0 s', '1 s']);
      expect((await svg.locator('g.tick.y text').allTextContents()).length).toBeGreaterThanOrEqual(3);
      expect(await svg.locator('rect.fault').count()).toBe(1);
      const phasesMarked = await svg
        .locator('g.marker')
        .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-phase')));
      // Phases at the same instant share one line.
      expect(phasesMarked).toEqual([
        'firstFailureMs',
        'errorsEndedMs userFacingMs',
        'terminatedMs latencyNormalMs',
        'capacityRestoredMs',
      ]);
      expect(await svg.locator('g.marker text').allTextContents()).toEqual([
        'first failure +25 ms',
        'errors ended, user-facing recovery +385 ms',
        'old replicas terminated, latency normal +400 ms',
        'capacity restored +1.3 s',
      ]);
    }
    expect(await section.locator('h3').first().textContent()).toBe('Traffic by due time, 100 ms buckets');
    // 6 s of 100 ms buckets: 60 points on the throughput line.
    const d = (await section.locator('figure[data-chart="throughput"] path.series').getAttribute('d')) ?? '';
    expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(60);
    const latency = await section
      .locator('figure[data-chart="latency"] path.series')
      .evaluateAll((ps) => ps.map((p) => p.getAttribute('data-series')));
    expect(latency).toEqual(['p50', 'p95', 'p99']);
  });

  it('draws the markers where the phases are, inside the fault window where they fall in it', async () => {
    const svg = page.locator('section#experiment-1 figure[data-chart="throughput"] svg');
    const x = async (selector: string) => (await svg.locator(selector).boundingBox())?.x ?? Number.NaN;
    const fault = await svg.locator('rect.fault').boundingBox();
    const firstFailure = await x('g.marker[data-phase="firstFailureMs"] line');
    const capacity = await x('g.marker[data-phase="capacityRestoredMs"] line');
    expect(firstFailure).toBeGreaterThanOrEqual((fault?.x ?? 0) - 1);
    expect(capacity).toBeGreaterThan(firstFailure);
    // Capacity restored is where the fault window ends (a disruption's window closes then).
    expect(Math.abs(capacity - ((fault?.x ?? 0) + (fault?.width ?? 0)))).toBeLessThan(2);
  });

  it('shows the traffic each replica served', async () => {
    // Replica b took half the traffic until it was killed, c half after capacity was back.
    const rows = await page
      .locator('section#experiment-1 table.replicas tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual([
      'order-service-a',
      'order-service-b',
      'order-service-c',
      'unknown',
    ]);
    expect(rows.reduce((n, r) => n + Number(r[1]), 0)).toBe(300);
    expect(rows[0]?.[1]).toBe('150');
    const legend = await page
      .locator('section#experiment-1 figure[data-chart="replicas"] ul.legend li')
      .allTextContents();
    expect(legend).toEqual(['order-service-a', 'order-service-b', 'order-service-c', 'unknown']);
  });

  it('shows the steady-state hypothesis: each probe before, while the fault was on, and after', async () => {
    const rows = await page
      .locator('section#experiment-3 h3:has-text("Steady-state hypothesis") + table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      [
        'stock conserved',
        'held: read {"PROD-001":1000}',
        '4/5 held; first failure: no answer within 5 s',
        'held: read {"PROD-001":1000}',
      ],
    ]);
    expect(await page.locator('section#experiment-1 h3:has-text("Steady-state hypothesis")').count()).toBe(0);
  });

  it('is self-contained: no script, and nothing fetched but the page itself', async () => {
    expect(await page.locator('script').count()).toBe(0);
    expect(requested).toEqual([expect.stringMatching(/^file:\/\/.*chaos-report\.html$/)]);
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
