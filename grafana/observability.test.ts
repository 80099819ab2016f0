// The dashboard and the alerting rules, checked with real Prometheus tools: promtool for the rules,
// and a real Prometheus that scrapes the local platform under traffic and a chaos run, against
// which every dashboard query must return data.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const here = import.meta.dirname;
const cli = resolve(here, '../cli/dist/cli.js');
const run = promisify(execFile);
const dashboard = JSON.parse(readFileSync(join(here, 'dashboards/chaos-platform.json'), 'utf8'));
const panelQueries: Array<{ title: string; expr: string }> = dashboard.panels.flatMap(
  (panel: { title: string; targets: Array<{ expr: string }> }) =>
    panel.targets.map((t) => ({ title: panel.title, expr: t.expr })),
);

describe('alerting rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run('promtool', [
      'check',
      'rules',
      join(here, 'alerts/chaos-platform.rules.yaml'),
    ]);
    expect(stdout).toContain('SUCCESS: 4 rules found');
  });

  it('pass their promtool unit tests', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'chaos-platform.rules.test.yaml'], {
      cwd: join(here, 'alerts'),
    });
    expect(stdout).toContain('SUCCESS');
  });
});

describe('the Chaos Platform dashboard', () => {
  it('has a stable uid, the seed panels and the resilience panels', () => {
    expect(dashboard).toMatchObject({ uid: 'chaos-platform', title: 'Chaos Platform', schemaVersion: 39 });
    expect(dashboard.panels.map((p: { title: string }) => p.title)).toEqual(
      expect.arrayContaining([
        'Order request rate',
        'Orders by status (5m)',
        'Order p95 latency',
        'Replica starts (15m)',
        'Circuit breaker state',
        'Load-shed responses',
        'Error ratio per service',
      ]),
    );
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.gridPos).toEqual({
        x: expect.any(Number),
        y: expect.any(Number),
        w: expect.any(Number),
        h: expect.any(Number),
      });
    }
    expect(dashboard.annotations.list.map((a: { name: string }) => a.name)).toContain('Chaos experiments');
  });
});

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('every dashboard query against a real Prometheus scraping the platform', () => {
  const work = mkdtempSync(join(tmpdir(), 'observability-'));
  const stateDir = join(work, 'state');
  let prometheus: ChildProcess | undefined;
  let pushgateway: ChildProcess | undefined;
  let promUrl = '';
  let pushUrl = '';

  beforeAll(async () => {
    // Below Linux's ephemeral range (32768+), where the replicas' own ports come from.
    const base = 21_000 + Math.floor(Math.random() * 11_000);
    await run(process.execPath, [
      cli,
      'local',
      'up',
      '--replicas',
      '2',
      '--base-port',
      String(base),
      '--state-dir',
      stateDir,
    ]);
    const [promPort, pushPort] = [await freePort(), await freePort()];
    promUrl = `http://127.0.0.1:${promPort}`;
    pushUrl = `http://127.0.0.1:${pushPort}`;
    pushgateway = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${pushPort}`], {
      stdio: 'ignore',
    });
    writeFileSync(
      join(work, 'prometheus.yml'),
      readFileSync(join(here, 'prometheus-local.yml'), 'utf8')
        .replace('http://127.0.0.1:5099/sd', `http://127.0.0.1:${base + 99}/sd`)
        .replace('scrape_interval: 2s', 'scrape_interval: 1s')
        .replace('refresh_interval: 5s', 'refresh_interval: 1s')
        .replaceAll('127.0.0.1:9091', `127.0.0.1:${pushPort}`)
        .replace('alerts/chaos-platform.rules.yaml', join(here, 'alerts/chaos-platform.rules.yaml')),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    for (const url of [promUrl, pushUrl]) {
      for (let i = 0; i < 100; i++) {
        if ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Traffic and a chaos run for Prometheus to see.
    await run(process.execPath, [
      cli,
      'pod-kill',
      '--driver',
      'local',
      '--service',
      'inventory-service',
      '--rps',
      '20',
      '--warmup',
      '3s',
      '--cooldown',
      '3s',
      '--state-dir',
      stateDir,
      '--report-dir',
      join(work, 'reports'),
      '--pushgateway',
      pushUrl,
    ]);
  }, 120_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    pushgateway?.kill('SIGTERM');
    await run(process.execPath, [cli, 'local', 'down', '--state-dir', stateDir]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it.each(panelQueries)('$title returns data', async ({ expr }) => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; data: { result: unknown[] } };
    expect(body.status).toBe('success');
    expect(body.data.result.length).toBeGreaterThan(0);
  });

  it('annotates the chaos run from what chaosctl pushed', async () => {
    const pushed = await fetch(`${pushUrl}/metrics`).then((r) => r.text());
    expect(pushed).toMatch(
      /chaosctl_experiment_passed\{experiment="pod-kill inventory-service",instance="",job="chaosctl"\} 1/,
    );
    expect(pushed).toMatch(
      /chaosctl_experiment_recovery_seconds\{experiment="pod-kill inventory-service",instance="",job="chaosctl"\} \d/,
    );
    const annotation = dashboard.annotations.list.find(
      (a: { name: string }) => a.name === 'Chaos experiments',
    );
    const end = Date.now() / 1000;
    const response = await fetch(
      `${promUrl}/api/v1/query_range?query=${encodeURIComponent(annotation.expr)}&start=${end - 120}&end=${end}&step=1`,
    );
    const { data } = (await response.json()) as {
      data: { result: Array<{ metric: { experiment: string } }> };
    };
    expect(data.result.map((r) => r.metric.experiment)).toEqual(['pod-kill inventory-service']);
  });

  it('scraped every replica of every service, and the Pushgateway', async () => {
    const response = await fetch(
      `${promUrl}/api/v1/query?query=${encodeURIComponent('count by (job) (up == 1)')}`,
    );
    const { data } = (await response.json()) as {
      data: { result: Array<{ metric: { job: string }; value: [number, string] }> };
    };
    const up = Object.fromEntries(data.result.map((r) => [r.metric.job, Number(r.value[1])]));
    expect(up).toEqual({
      'order-service': 2,
      'inventory-service': 2,
      'notification-service': 2,
      pushgateway: 1,
    });
  });
});
