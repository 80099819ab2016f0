// Open-model load: requests leave on a fixed schedule whatever the service does, and latency is
// counted from when a request was due, not when it left, so a stalled service cannot hide its
// stall by slowing the sender (no coordinated omission).
const PRODUCTS = ['PROD-001', 'PROD-002', 'PROD-003', 'PROD-004', 'PROD-005'];

export interface Sample {
  /** When the request was due (epoch ms). */
  dueAt: number;
  latencyMs: number;
  /** HTTP status, or 0 when no answer came (connection refused, reset, timeout). */
  status: number;
  orderId?: string;
  quantity: number;
  productId: string;
}

export interface LoadOptions {
  url: string;
  rps: number;
  timeoutMs?: number;
  /** Bounds memory and sockets if the target hangs. */
  maxInFlight?: number;
}

export class LoadGenerator {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private startedAt = 0;
  private sent = 0;

  constructor(private readonly opts: LoadOptions) {}

  start(): void {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 5);
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<Sample[]> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
    return this.samples;
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.startedAt) * this.opts.rps) / 1000);
    while (this.sent < due) {
      const dueAt = this.startedAt + (this.sent * 1000) / this.opts.rps;
      this.sent++;
      if (this.inFlight.size >= (this.opts.maxInFlight ?? 2000)) {
        this.samples.push({ dueAt, latencyMs: 0, status: 0, quantity: 0, productId: '' });
        continue;
      }
      const request = this.send(dueAt).finally(() => this.inFlight.delete(request));
      this.inFlight.add(request);
    }
  }

  private async send(dueAt: number): Promise<void> {
    const productId = PRODUCTS[this.sent % PRODUCTS.length] ?? 'PROD-001';
    const sample: Sample = { dueAt, latencyMs: 0, status: 0, quantity: 1, productId };
    try {
      const res = await fetch(`${this.opts.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ product_id: productId, quantity: 1, email: 'chaos@example.com' }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { id?: string };
      sample.status = res.status;
      if (res.status === 201 && body.id) sample.orderId = body.id;
    } catch {
      sample.status = 0;
    }
    sample.latencyMs = Date.now() - dueAt;
    this.samples.push(sample);
  }
}
