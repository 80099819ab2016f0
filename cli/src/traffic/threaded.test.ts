// Generator threads against a real HTTP server on 127.0.0.1 (their script is the build's: npm test
// builds first).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RequestSpec } from '../suite/schema.js';
import { mergeSummaries, summaryStats } from './stats.js';
import { ThreadedLoad, threadsFor } from './threaded.js';

let server: Server;
let url: string;
/** The body of every request the server got, in arrival order. */
let received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      received.push(body);
      // Every answer takes 20 ms: no latency the generator reports can be below it.
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"status":"confirmed"}');
      }, 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const ORDER: RequestSpec = {
  target: 'shop',
  method: 'POST',
  path: '/orders',
  body: { key: '{{uuid}}', quantity: 1 },
  success: [201],
};

async function run(threads: number, rps: number, ms: number, seed?: number) {
  received = [];
  const load = new ThreadedLoad({ requests: [ORDER], urlOf: { shop: url }, rps, seed }, threads);
  // The schedule starts 20 ms after start() is called and before it returns, and ends when stop()
  // is called: between these two spans.
  const called = performance.now();
  await load.start();
  const started = performance.now();
  await sleep(ms);
  const stopping = performance.now();
  const result = await load.stop();
  return {
    ...result,
    shortestMs: stopping - started - 20,
    longestMs: stopping - called - 20,
    bodies: received,
  };
}

describe('ThreadedLoad', () => {
  it('splits one schedule across threads and adds up what each recorded', async () => {
    const { summary, threads, shortestMs, longestMs } = await run(2, 300, 1000, 11);

    // The total rate is held: every request due while the schedule ran was sent (request 0 at its
    // start, then one each 1/300 s), however late a thread's timers fired on a loaded machine.
    expect(summary.requests).toBeGreaterThanOrEqual(Math.floor((300 * shortestMs) / 1000));
    expect(summary.requests).toBeLessThanOrEqual(Math.ceil((300 * longestMs) / 1000) + 1);
    expect(summary.requests).toBe(received.length);
    expect(summary.ok).toBe(summary.requests);
    expect(summary.shed + summary.unanswered + summary.retried).toBe(0);
    // Each thread has its half of the schedule, within the one request the other may be ahead.
    expect(threads).toHaveLength(2);
    const [a, b] = threads.map((t) => t.requests) as [number, number];
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
    // The merged histogram holds every thread's latencies, and its figures are theirs added up.
    expect(summary.latency.count).toBe(a + b);
    expect(summaryStats(summary)).toEqual(summaryStats(mergeSummaries(threads)));
    expect(summaryStats(summary).p50Ms).toBeGreaterThanOrEqual(20);
    const maxes = threads.map((t) => t.latency.percentile(100));
    expect(summary.latency.percentile(100)).toBe(Math.max(...maxes));
    // Each thread draws from its own seed: no {{uuid}} is sent twice.
    const keys = received.map((body) => (JSON.parse(body) as { key: string }).key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('repeats its bodies for the same seed', async () => {
    const first = new Set((await run(2, 100, 300, 5)).bodies);
    const second = (await run(2, 100, 300, 5)).bodies;
    // Each thread's bodies are a sequence from its seed: the shorter run's are the longer one's,
    // but for the one request each thread may have sent in one run and not the other.
    expect(second.length).toBeGreaterThan(20);
    const shared = second.filter((body) => first.has(body)).length;
    expect(shared).toBeGreaterThanOrEqual(Math.min(first.size, second.length) - 2);
  });

  it('fails start() with the reason when a thread cannot build its generator', async () => {
    const load = new ThreadedLoad({ requests: [ORDER], urlOf: {}, rps: 100 }, 2);
    await expect(load.start()).rejects.toThrow('traffic.requests[0].target: no URL for target shop');
  });

  it('takes one thread per 10,000 requests/s, no more than the cores, and refuses none', () => {
    expect(threadsFor(5000)).toBe(1);
    expect(threadsFor(15_000, 10_000)).toBe(Math.min(2, threadsFor(1e9)));
    expect(() => new ThreadedLoad({ requests: [ORDER], urlOf: { shop: url }, rps: 100 }, 0)).toThrow(
      'threads must be 1 or more (got 0)',
    );
  });
});
