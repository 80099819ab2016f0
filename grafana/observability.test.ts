// The dashboard and the alerting rules, checked with real Prometheus tools: promtool for the rules,
// and a real Prometheus that scrapes the local platform under traffic and a chaos run, against
// which every dashboard query must return data.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../cli/src/drivers/local/supervisor.js';
import { localUp } from '../cli/test/harness.js';

const here = import.meta.dirname;
const cli = resolve(here, '../cli/bundle/cli.js');
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
        'Replica restarts (15m)',
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

type Vector = { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };

describe('every dashboard query against a real Prometheus scraping the platform', () => {
  const work = mkdtempSync(join(tmpdir(), 'observability-'));
  const stateDir = join(work, 'state');
  let prometheus: ChildProcess | undefined;
  let pushgateway: ChildProcess | undefined;
  let promUrl = '';
  let pushUrl = '';
  let beforeKill = 0;

  beforeAll(async () => {
    const { base } = await localUp(stateDir, work);
    const [promPort, pushPort] = [await freePort(), await freePort()];
    promUrl = `http://127.0.0.1:${promPort}`;
    pushUrl = `http://127.0.0.1:${pushPort}`;
    // Debian's build persists to /var/lib/prometheus/pushgateway.data by default: in memory only,
    // or groups pushed by an earlier run (or another test) would be there.
    pushgateway = spawn(
      'prometheus-pushgateway',
      [`--web.listen-address=127.0.0.1:${pushPort}`, '--persistence.file='],
      {
        stdio: 'ignore',
      },
    );
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
    // Every replica scraped at least once before the kill, so "before" has something to compare.
    for (let i = 0; i < 100; i++) {
      const { data } = await query(
        'count(up{job=~"order-service|inventory-service|notification-service"} == 1)',
      );
      if (data.result[0]?.value[1] === '6') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    beforeKill = Date.now() / 1000;
    // Traffic and a chaos run for Prometheus to see. What is checked is what Prometheus saw, not
    // the thresholds: generous ones keep a run on two busy cores a pass.
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
      '--sla',
      '60s',
      '--max-error-rate',
      '1',
      '--max-p95',
      '60s',
    ]);
  }, 120_000);

  const query = async (expr: string, time?: number): Promise<Vector> => {
    const at = time === undefined ? '' : `&time=${time}`;
    return (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}${at}`).then((r) =>
      r.json(),
    )) as Vector;
  };

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

  it('counts the local kill as one restart of inventory-service, and nothing for the Pushgateway', async () => {
    const restarts = panelQueries.find((q) => q.title === 'Replica restarts (15m)')?.expr ?? '';
    const byJob = (vector: Vector) =>
      Object.fromEntries(vector.data.result.map((r) => [r.metric.job, Number(r.value[1])]));
    const zero = { 'order-service': 0, 'inventory-service': 0, 'notification-service': 0 };
    expect(byJob(await query(restarts, beforeKill))).toEqual(zero);
    expect(byJob(await query(restarts))).toEqual({ ...zero, 'inventory-service': 1 });
  });

  it("fires ChaosPlatformReplicaRestarted for inventory-service, with the panel's expression", async () => {
    const rules = readFileSync(join(here, 'alerts/chaos-platform.rules.yaml'), 'utf8');
    const restarts = panelQueries.find((q) => q.title === 'Replica restarts (15m)')?.expr ?? '';
    expect(rules).toContain(`expr: |\n          ${restarts}\n            > 0`);
    let firing: Array<{ labels: Record<string, string>; state: string }> = [];
    for (let i = 0; i < 50 && firing.length === 0; i++) {
      const { data } = (await fetch(`${promUrl}/api/v1/alerts`).then((r) => r.json())) as {
        data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
      };
      firing = data.alerts.filter((a) => a.labels.alertname === 'ChaosPlatformReplicaRestarted');
      if (firing.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(firing.map((a) => [a.labels.job, a.state])).toEqual([['inventory-service', 'firing']]);
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
    // A killed local replica comes back on a new port: a new target that Prometheus finds at its
    // next service-discovery refresh and scrape. Wait for it, bounded.
    const upByJob = async () => {
      const response = await fetch(
        `${promUrl}/api/v1/query?query=${encodeURIComponent('count by (job) (up == 1)')}`,
      );
      const { data } = (await response.json()) as {
        data: { result: Array<{ metric: { job: string }; value: [number, string] }> };
      };
      return Object.fromEntries(data.result.map((r) => [r.metric.job, Number(r.value[1])]));
    };
    const expected = {
      'order-service': 2,
      'inventory-service': 2,
      'notification-service': 2,
      pushgateway: 1,
    };
    const matches = (got: Record<string, number>) =>
      Object.keys(got).length === Object.keys(expected).length &&
      Object.entries(expected).every(([job, n]) => got[job] === n);
    let up = await upByJob();
    for (let i = 0; i < 40 && !matches(up); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      up = await upByJob();
    }
    expect(up).toEqual(expected);
  }, 30_000);
});
