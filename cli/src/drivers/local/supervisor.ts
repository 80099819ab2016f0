// The local stand-in for a cluster: N replica processes per service, restarted when they die (as a
// ReplicaSet would), behind a front proxy on the service's usual port that sends traffic only to
// ready replicas and carries injected latency. A small control API lets chaosctl read status,
// kill replicas and add latency; every fault carries its own deadline and expires here on its own.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ServiceName } from '../driver.js';

/** In start order: order-service's downstreams first. */
export const SERVICES: readonly ServiceName[] = [
  'inventory-service',
  'notification-service',
  'order-service',
];

export interface SupervisorConfig {
  repoRoot: string;
  dataDir: string;
  replicas: number;
  /** Front (proxy) port per service. */
  ports: Record<ServiceName, number>;
  controlPort: number;
  /** Extra environment for every replica (LOG_LEVEL, SEED_STOCK...). */
  env: Record<string, string>;
}

export interface ReplicaStatus {
  id: string;
  pid: number | null;
  port: number;
  ready: boolean;
  restarts: number;
  startedAt: number;
}

export interface LatencyFault {
  service: ServiceName;
  latencyMs: number;
  jitterMs: number;
  until: number;
}

export interface PlatformStatus {
  services: Record<ServiceName, { url: string; replicas: ReplicaStatus[] }>;
  faults: LatencyFault[];
}

class Replica {
  child: ChildProcess | undefined;
  ready = false;
  restarts = -1;
  startedAt = 0;
  constructor(
    readonly id: string,
    readonly port: number,
  ) {}
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class Supervisor {
  private readonly replicas = new Map<ServiceName, Replica[]>();
  private readonly servers: Server[] = [];
  private faults: LatencyFault[] = [];
  private stopping = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly cursor = new Map<ServiceName, number>();

  constructor(
    private readonly config: SupervisorConfig,
    /** Called when the control API is asked to shut the platform down. */
    private readonly onShutdownRequest: () => void = () => {},
  ) {}

  async start(): Promise<void> {
    for (const service of SERVICES) {
      const replicas: Replica[] = [];
      for (let i = 0; i < this.config.replicas; i++)
        replicas.push(new Replica(`${service}-${i}`, await freePort()));
      this.replicas.set(service, replicas);
      for (const replica of replicas) this.spawn(service, replica);
      this.servers.push(
        await this.listen(this.config.ports[service], (req, res) => {
          // A caller that hangs up mid-request (chaosctl interrupted) must not take the supervisor down.
          this.proxy(service, req, res).catch(() => res.destroy());
        }),
      );
    }
    this.servers.push(
      await this.listen(this.config.controlPort, (req, res) => {
        this.control(req, res).catch((error: Error) => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: error.message }));
        });
      }),
    );
    this.probeTimer = setInterval(() => void this.probe(), 200);
  }

  status(): PlatformStatus {
    const services = Object.fromEntries(
      SERVICES.map((service) => [
        service,
        {
          url: `http://127.0.0.1:${this.config.ports[service]}`,
          replicas: (this.replicas.get(service) ?? []).map((r) => ({
            id: r.id,
            pid: r.child?.pid ?? null,
            port: r.port,
            ready: r.ready,
            restarts: r.restarts,
            startedAt: r.startedAt,
          })),
        },
      ]),
    ) as PlatformStatus['services'];
    return { services, faults: this.activeFaults() };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.probeTimer);
    const exits = [...this.replicas.values()].flat().map((replica) => {
      const child = replica.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      return exited;
    });
    await Promise.all(exits);
    for (const server of this.servers) {
      server.closeAllConnections();
      server.close();
    }
  }

  private spawn(service: ServiceName, replica: Replica): void {
    const { repoRoot, dataDir, ports, env } = this.config;
    const child = spawn(process.execPath, [join(repoRoot, 'apps', service, 'dist/main.js')], {
      env: {
        PATH: process.env.PATH,
        ...env,
        HOST: '127.0.0.1',
        PORT: String(replica.port),
        // Replicas of a service share its SQLite file, as pods share one database.
        DATA_DIR: join(dataDir, service),
        INVENTORY_URL: `http://127.0.0.1:${ports['inventory-service']}`,
        NOTIFICATION_URL: `http://127.0.0.1:${ports['notification-service']}`,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    replica.child = child;
    replica.ready = false;
    replica.restarts++;
    replica.startedAt = Date.now();
    child.once('exit', () => {
      replica.ready = false;
      if (!this.stopping) setTimeout(() => this.stopping || this.spawn(service, replica), 100);
    });
  }

  private async probe(): Promise<void> {
    await Promise.all(
      [...this.replicas.values()].flat().map(async (replica) => {
        const alive = replica.child && replica.child.exitCode === null && replica.child.signalCode === null;
        if (!alive) {
          replica.ready = false;
          return;
        }
        try {
          const res = await fetch(`http://127.0.0.1:${replica.port}/readyz`, {
            signal: AbortSignal.timeout(1000),
          });
          await res.arrayBuffer();
          replica.ready = res.ok;
        } catch {
          replica.ready = false;
        }
      }),
    );
  }

  private activeFaults(): LatencyFault[] {
    const now = Date.now();
    this.faults = this.faults.filter((fault) => fault.until > now);
    return this.faults;
  }

  private pick(service: ServiceName): Replica | undefined {
    const ready = (this.replicas.get(service) ?? []).filter((replica) => replica.ready);
    if (ready.length === 0) return undefined;
    const next = (this.cursor.get(service) ?? 0) + 1;
    this.cursor.set(service, next);
    return ready[next % ready.length];
  }

  private async proxy(service: ServiceName, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = this.activeFaults().find((f) => f.service === service);
    if (fault) await sleep(Math.max(0, fault.latencyMs + (Math.random() * 2 - 1) * fault.jitterMs));
    const body = Buffer.from(await readBody(req));
    const unavailable = (status: number, detail: string) => {
      if (!res.headersSent)
        res.writeHead(status, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: status === 503 ? 'Service Unavailable' : 'Bad Gateway',
          status,
          detail,
        }),
      );
    };
    const forward = (target: Replica | undefined, retried: boolean) => {
      if (!target) return unavailable(503, `no ready ${service} replica`);
      const upstream = httpRequest(
        // No pooled sockets (agent: false): a pooled one to a replica that just died fails with a
        // reset after the request was sent; a fresh one is refused at once, and that is retried.
        {
          host: '127.0.0.1',
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        // Refused means the request never reached the replica (it just died): as a load balancer
        // would, try another one once. A request cut off mid-flight is not retried.
        if (error.code === 'ECONNREFUSED' && !retried) {
          target.ready = false;
          return forward(this.pick(service), true);
        }
        unavailable(502, `${target.id} dropped the request`);
      });
      upstream.end(body);
    };
    forward(this.pick(service), false);
  }

  private async control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://control');
    const [, resource, service, id] = url.pathname.split('/');
    if (req.method === 'GET' && resource === 'status') return send(200, this.status());
    // Prometheus HTTP service discovery: every replica, labelled with its service as the job.
    if (req.method === 'GET' && resource === 'sd') {
      return send(
        200,
        SERVICES.map((name) => ({
          targets: (this.replicas.get(name) ?? []).map((r) => `127.0.0.1:${r.port}`),
          labels: { job: name },
        })),
      );
    }
    if (req.method === 'POST' && resource === 'kill' && isService(service)) {
      const replica = (this.replicas.get(service) ?? []).find((r) => r.id === id);
      if (!replica?.child?.pid) return send(404, { error: `no replica ${id}` });
      const pid = replica.child.pid;
      replica.child.kill('SIGKILL');
      replica.ready = false;
      return send(200, { killed: replica.id, pid });
    }
    if (req.method === 'POST' && resource === 'latency' && isService(service)) {
      const body = JSON.parse(await readBody(req)) as {
        latencyMs: number;
        jitterMs: number;
        durationMs: number;
      };
      const fault = {
        service,
        latencyMs: body.latencyMs,
        jitterMs: body.jitterMs,
        until: Date.now() + body.durationMs,
      };
      this.faults = [...this.activeFaults().filter((f) => f.service !== service), fault];
      return send(200, fault);
    }
    if (req.method === 'DELETE' && resource === 'latency') {
      this.faults = this.activeFaults().filter((f) => service !== undefined && f.service !== service);
      return send(200, { faults: this.faults });
    }
    if (req.method === 'POST' && resource === 'shutdown') {
      send(202, { stopping: true });
      this.onShutdownRequest();
      return;
    }
    send(404, { error: `no route ${req.method} ${url.pathname}` });
  }

  private listen(
    port: number,
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<Server> {
    const server = createServer(handler);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }
}

const isService = (name: string | undefined): name is ServiceName => SERVICES.includes(name as ServiceName);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
