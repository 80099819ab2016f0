// chaosctl talks to whatever ports a user gives, including the ones the Fetch standard calls "bad"
// (https://fetch.spec.whatwg.org/#bad-port), which Node's fetch refuses to connect to: the read-back,
// the probes, the breaker watch, the latency probe and the local driver's control calls all work there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { probeLatency } from '../src/backends/probe-latency.js';
import { LocalDriver } from '../src/drivers/local/local-driver.js';
import { fetchStatus } from '../src/drivers/local/platform.js';
import { BreakerWatch } from '../src/experiments/breaker-watch.js';
import { Hypothesis } from '../src/probes/hypothesis.js';
import type { Sample } from '../src/traffic/load.js';
import { checkReadBack } from '../src/traffic/read-back.js';

/** Bad ports from the Fetch standard's list that a test may bind without privileges. */
const BAD_PORTS = [6000, 6665, 6666, 6667, 6668, 6669, 6697, 10080];

/** Listens on the first free bad port; fails when every one is taken. */
async function onBadPort(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  for (const port of BAD_PORTS) {
    const server = createServer(handler);
    const listening = await new Promise<boolean>((done) => {
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => done(true));
    });
    if (listening) return server;
  }
  throw new Error(`every bad port is taken: ${BAD_PORTS.join(', ')}`);
}

const json = (res: ServerResponse, body: unknown, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': 'replica-0' });
  res.end(JSON.stringify(body));
};

const status = { pid: 1, version: 3, services: {}, faults: [] };
const requests: string[] = [];
let server: Server;
let url: string;
const work = mkdtempSync(join(tmpdir(), 'bad-ports-'));

beforeAll(async () => {
  server = await onBadPort((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === '/inventory') return json(res, [{ product_id: 'PROD-001', available: 8, reserved: 2 }]);
    if (req.url?.startsWith('/orders/')) return json(res, { status: 'confirmed' });
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': 'replica-0' });
      return res.end('circuit_breaker_state{downstream="inventory-service"} 2\n');
    }
    if (req.url === '/healthz') return json(res, { status: 'ok' });
    if (req.url === '/status') return json(res, status);
    if (req.url === '/kill/order-service/order-service-0') return json(res, { killed: 'order-service-0' });
    json(res, { error: 'no route' }, 404);
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  rmSync(work, { recursive: true, force: true });
});

describe('chaosctl on a Fetch-standard bad port', () => {
  it('reads orders and stock back', async () => {
    const acknowledged = (id: string) =>
      ({
        ok: true,
        request: 0,
        readBack: { url, method: 'GET', headers: {}, path: `/orders/${id}` },
      }) as Sample;
    const mix = [
      {
        target: 'shop',
        method: 'POST' as const,
        path: '/orders',
        readBack: { path: '/orders/{{response.id}}', expect: "status = 'confirmed'" },
      },
    ];
    const result = await checkReadBack([acknowledged('a'), acknowledged('b')], mix);
    expect(result).toEqual({ acknowledged: 2, readBack: 2, missing: [], passed: true });
    // A probe of the suite (the demo shop's stock check) reads the same port.
    const probes = new Hypothesis(
      [
        {
          name: 'stock conserved',
          when: ['before'],
          http: {
            url,
            path: '/inventory',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a JSONata expression, not a template
            json: { expression: '${product_id: available + reserved}', equals: { 'PROD-001': 10 } },
          },
        },
      ],
      { urlOf: async () => url },
    );
    expect(await probes.before()).toMatchObject([
      { name: 'stock conserved', ok: true, value: { 'PROD-001': 10 } },
    ]);
  });

  it('watches the breakers in the metrics', async () => {
    const watch = new BreakerWatch(url, 10);
    watch.start();
    for (let i = 0; i < 100 && watch.openedAt === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    watch.stop();
    expect(watch.openedAt).toEqual(expect.any(Number));
  });

  it('probes the latency', async () => {
    expect(await probeLatency(url, 2)).toBeGreaterThan(0);
    expect(requests).toContain('GET /healthz');
  });

  it("calls the local platform's control API", async () => {
    expect(await fetchStatus(url)).toEqual(status);
    writeFileSync(
      join(work, 'local.json'),
      JSON.stringify({
        pid: process.pid,
        controlUrl: url,
        dataDir: work,
        startedAt: '',
        targets: ['order-service'],
      }),
    );
    const driver = new LocalDriver(work);
    expect(await driver.call('POST', '/kill/order-service/order-service-0')).toEqual({
      killed: 'order-service-0',
    });
  });
});
