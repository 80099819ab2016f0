// probeLatency against a real HTTP server on 127.0.0.1.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import { probeLatency } from './probe-latency.js';

describe('probeLatency', () => {
  it('probes on a new connection each time and keeps none open', async () => {
    // A delay applies to callers' new connections, and a connection kept idle across the injection
    // is one the platform may close under the next probe ("other side closed").
    let connections = 0;
    const server = createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await probeLatency(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 3);
      expect(connections).toBe(3);
      const open = () =>
        new Promise<number>((resolve, reject) =>
          server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
        );
      // Closing takes a round trip after the answer: bounded wait, 1 s at most.
      for (let i = 0; i < 20 && (await open()) > 0; i++) await sleep(50);
      expect(await open()).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
