// The probes' own listener (PROBE_PORT): it answers /healthz, /readyz and /metrics while the
// service's port is full, and serves nothing else. And the service port: shared by the process's
// own acceptors (SO_REUSEPORT), never with another process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { freePort, http, repoRoot, startService, stopAll, tempDir } from './platform.js';

afterEach(stopAll);

describe('the probe port', () => {
  it('answers probes that the connection limit never touches, and only them', async () => {
    const probePort = await freePort();
    const service = await startService('inventory-service', {
      DATA_DIR: tempDir('inventory'),
      MAX_CONNECTIONS: '5',
      PROBE_PORT: String(probePort),
    });
    const probes = `http://127.0.0.1:${probePort}`;
    for (const path of ['/healthz', '/readyz'])
      expect((await http('GET', `${probes}${path}`)).status).toBe(200);
    const scrape = await fetch(`${probes}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(await scrape.text()).toMatch(/^http_load_shed_total\{reason="queueFull"\} 0$/m);
    expect((await http('GET', `${probes}/inventory`)).status).toBe(404);
    expect((await http('GET', `${service.url}/inventory`)).status).toBe(200);

    // Ten idle connections on the service's port: past MAX_CONNECTIONS the rest are closed.
    const sockets: Socket[] = Array.from({ length: 10 }, () =>
      connect(service.port, '127.0.0.1').on('error', () => {}),
    );
    try {
      await sleep(500);
      expect(
        sockets.filter((socket) => socket.destroyed || socket.readableEnded).length,
      ).toBeGreaterThanOrEqual(5);
      for (const path of ['/healthz', '/readyz'])
        expect((await http('GET', `${probes}${path}`)).status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it('refuses to start on a port another instance holds, though its own acceptors share it', async () => {
    const first = await startService('inventory-service', {
      DATA_DIR: tempDir('inventory'),
      POD_NAME: 'first',
    });
    // Its readiness would be answered by the first, so the second is watched until it exits.
    const second = spawn(process.execPath, [join(repoRoot, 'apps/inventory-service/dist/main.js')], {
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: String(first.port),
        PROBE_PORT: '0',
        DATA_DIR: tempDir('inventory'),
        POD_NAME: 'second',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => second.kill('SIGKILL'), 10_000);
    const [code] = await once(second, 'exit');
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot start: listen EADDRINUSE/);
    // Every new connection still reaches the first instance.
    for (let i = 0; i < 20; i++) expect(await servedBy(first.port)).toBe('first');
  });
});

/** Who answers GET /healthz on a new connection. */
function servedBy(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.headers['x-served-by'] as string | undefined);
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.once('error', reject);
    req.end();
  });
}
