// Test fixture: places orders from its own process, so the test's process stays idle enough to time
// the probes fairly. Prints one JSON line with what it saw.
//   node load-generator.mjs <order-service url> capacity <orders> <clients>  closed loop: orders/s, statuses
//   node load-generator.mjs <order-service url> open <rate> <seconds>        open loop: statuses
// Open loop: requests leave on schedule whatever the answers (no coordinated omission).
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [url, mode, a, b] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
const body = JSON.stringify({ product_id: 'PROD-001', quantity: 1, email: 'load@example.com' });

/** One order; resolves with its status (0: no answer) and whether a 503 was a proper shed. */
function place() {
  return new Promise((resolve) => {
    const req = request(
      `${url}/orders`,
      {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            properShed:
              res.statusCode === 503 &&
              res.headers['retry-after'] !== undefined &&
              text.includes('"type":"https://chaos-platform.dev/problems/overloaded"'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, properShed: false }));
    req.end(body);
  });
}

let result;
if (mode === 'capacity') {
  const orders = Number(a);
  let next = 0;
  const statuses = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(b) }, async () => {
      while (next++ < orders) {
        const { status } = await place();
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  result = { rate: orders / ((performance.now() - started) / 1000), statuses };
} else {
  const rate = Number(a);
  const total = Math.round(rate * Number(b));
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(place());
  }
  const sentIn = (performance.now() - started) / 1000;
  const replies = await Promise.all(pending);
  const statuses = {};
  for (const { status } of replies) statuses[status] = (statuses[status] ?? 0) + 1;
  const improperSheds = replies.filter((r) => r.status === 503 && !r.properShed).length;
  result = { sent: total, sentPerSecond: total / sentIn, statuses, improperSheds };
}
agent.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
