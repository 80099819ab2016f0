// A real Prometheus (Debian's `prometheus`) scraping a tiny /metrics server every second, whose
// gauges a test sets: what the PromQL probe and the PromQL abort condition are tested against.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../drivers/local/supervisor.js';

export interface PrometheusFixture {
  url: string;
  /** Sets (or, with undefined, removes) the series `name{labels}`; seen by Prometheus at its next scrape. */
  set(series: string, value: number | undefined): void;
  /** Polls the query (bounded: 100 tries over about 10 s) until `until` accepts its raw JSON data. */
  waitFor(query: string, until: (data: { resultType: string; result: unknown }) => boolean): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPrometheus(): Promise<PrometheusFixture> {
  const gauges = new Map<string, number>();
  const metrics: Server = createServer((_req, res) => {
    const lines = [...gauges].map(([series, value]) => `${series} ${value}`);
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`# TYPE my_gauge gauge\n${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
  const metricsPort = (metrics.address() as AddressInfo).port;

  const dir = await mkdtemp(join(tmpdir(), 'chaosctl-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: fixture',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${metricsPort}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const prometheus: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => prometheus.once('exit', () => resolve()));

  const stop = async () => {
    prometheus.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    prometheus.kill('SIGKILL');
    await new Promise<void>((resolve) => metrics.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };

  const waitFor: PrometheusFixture['waitFor'] = async (query, until) => {
    let last = '';
    for (let i = 0; i < 100; i++) {
      try {
        const res = await request(`${url}/api/v1/query?${new URLSearchParams({ query })}`, {
          signal: AbortSignal.timeout(1000),
        });
        last = await res.body.text();
        const body = JSON.parse(last) as { status: string; data: { resultType: string; result: unknown } };
        if (body.status === 'success' && until(body.data)) return;
      } catch (err) {
        last = String(err);
      }
      await sleep(100);
    }
    throw new Error(`Prometheus never answered ${query} as the test waits for; last: ${last}`);
  };

  try {
    for (let i = 0; ; i++) {
      const ready = await request(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
        .then(async (res) => {
          await res.body.dump();
          return res.statusCode === 200;
        })
        .catch(() => false);
      if (ready) break;
      if (i >= 150) throw new Error(`Prometheus at ${url} not ready after 15 s`);
      await sleep(100);
    }
    // Scraped at least once: `up` of the fixture's job is 1.
    await waitFor('up{job="fixture"}', (d) => JSON.stringify(d.result).includes('"1"'));
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    set: (series, value) => {
      if (value === undefined) gauges.delete(series);
      else gauges.set(series, value);
    },
    waitFor,
    stop,
  };
}
