// Listening and graceful shutdown: the only place a service touches its process (with supervised.ts).
import { createServer, type Server } from 'node:http';
import { flushCompileCache } from 'node:module';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance, FastifyListenOptions } from 'fastify';
import { saveBundleCodeCache } from './bundle-code-cache.js';
import type { BaseConfig } from './config.js';
import { PROBE_PATHS } from './health.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';
import { type Supervised, serveSupervisorConnections } from './supervised.js';

export interface StartOptions {
  config: Pick<
    BaseConfig,
    'PORT' | 'PROBE_PORT' | 'HOST' | 'MAX_CONNECTIONS' | 'SHUTDOWN_DELAY_MS' | 'SHUTDOWN_TIMEOUT_MS'
  >;
  /** Closes what the app does not own (workers, clients, database), after in-flight requests finish. */
  onShutdown: () => Promise<void>;
}

/** The kubelet and Prometheus need a handful at most; the listener is no way around MAX_CONNECTIONS. */
const PROBE_MAX_CONNECTIONS = 64;

/**
 * Listening sockets on the service port (SO_REUSEPORT), all feeding the one HTTP server. libuv
 * accepts one connection per listening socket per event-loop turn (libuv/libuv#3696, 1.45), and
 * under a flood a turn goes through every ready connection: one socket took ~1,500 turns, seconds,
 * to take in the connections a flood had queued, while a newcomer waited behind them (measured:
 * scripts/bench/flood.mjs, accepted p99 ~2-3 s with one, ~0.2-0.4 s with 64).
 */
const ACCEPTORS = 64;

/** Where the probe listener listens: PROBE_PORT, else PORT + 1000 (any free port with PORT 0). */
export const probePort = (config: Pick<BaseConfig, 'PORT' | 'PROBE_PORT'>) =>
  config.PROBE_PORT ?? (config.PORT === 0 ? 0 : config.PORT + 1000);

/**
 * The probes' own listener: its connections never queue behind a flood's in the service port's
 * accept backlog, and load shedding and the connection gate never see them. Requests go through
 * the app's own routes (outside the load-shedding scope), so both ports answer alike.
 */
function probeServer(app: FastifyInstance): Server {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    if (PROBE_PATHS.has(path)) return app.routing(req, res);
    const detail = 'the probe port serves /healthz, /readyz and /metrics only';
    res.writeHead(404, { 'content-type': PROBLEM_CONTENT_TYPE });
    res.end(JSON.stringify(problemBody({ status: 404, title: 'Not Found', detail }, path)));
  });
  server.maxConnections = PROBE_MAX_CONNECTIONS;
  return server;
}

/**
 * Listens, then on SIGTERM/SIGINT: readiness turns 503, the delay lets load balancers notice,
 * in-flight requests finish, then resources close and the process exits 0. The probes listen on a
 * port of their own until the service port has closed. A replica of the local platform also serves
 * the connections its supervisor hands over, and tells it at once it drains.
 */
export async function startServer(app: FastifyInstance, { config, onShutdown }: StartOptions): Promise<void> {
  let supervised: Supervised | undefined;
  const acceptors: NetServer[] = [];
  const probes = probeServer(app);
  closeWithGrace(
    { delay: config.SHUTDOWN_TIMEOUT_MS, logger: { error: (message) => app.log.error(message) } },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'fatal error, shutting down');
      app.log.info({ signal }, 'shutting down');
      app.lifecycle.shuttingDown = true;
      supervised?.draining();
      if (config.SHUTDOWN_DELAY_MS > 0) await sleep(config.SHUTDOWN_DELAY_MS);
      for (const acceptor of acceptors) acceptor.close();
      await app.close();
      probes.closeAllConnections();
      probes.close();
      await onShutdown();
      app.log.info('shutdown complete');
    },
  );
  await new Promise<void>((resolve, reject) => {
    probes.once('error', (error) =>
      reject(new Error(`cannot listen on the probe port (PROBE_PORT): ${error.message}`)),
    );
    probes.listen(probePort(config), config.HOST, resolve);
  });
  probes.on('error', (error) => app.log.error({ err: error }, 'probe listener error'));
  // A flood's connections wait in the kernel's accept queue, not in SYN retransmits (1 s, 3 s, 7 s...)
  // that would hold every newcomer back as well: room for as many as the process would take, at
  // least Node's default of 511 (the kernel caps it at net.core.somaxconn).
  const backlog = Math.max(511, config.MAX_CONNECTIONS);
  // reusePort (Node 22.12) is passed on to server.listen(), though Fastify's types do not list it.
  const listen = { port: config.PORT, host: config.HOST, backlog, reusePort: true };
  await portIsFree(config.PORT, config.HOST);
  await app.listen(listen as FastifyListenOptions);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  for (let i = 1; i < ACCEPTORS; i++) {
    const acceptor = createNetServer((socket) => app.server.emit('connection', socket));
    acceptors.push(acceptor);
    await new Promise<void>((resolve, reject) => {
      acceptor.once('error', reject);
      acceptor.listen({ ...listen, port }, resolve);
    });
    acceptor.on('error', (error) => app.log.error({ err: error }, 'acceptor error'));
  }
  supervised = serveSupervisorConnections(app.server);
  // With NODE_COMPILE_CACHE set, Node writes the code it compiled at exit; a process killed later
  // (SIGKILL, out of memory) would leave none for its successor. Nothing is written when it started
  // from the cache. The bundle's own code cache likewise, once, holding what the start compiled.
  flushCompileCache();
  saveBundleCodeCache();
}

/**
 * Fails with EADDRINUSE when another process holds the port. With SO_REUSEPORT alone, a second
 * instance of a service (same user, same port: `npm run platform` twice) would silently share the
 * port and take half its connections; a socket bound without it is refused while any other holds
 * the port. (Two instances starting in the same instant can still both pass.)
 */
async function portIsFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const check = createNetServer();
  await new Promise<void>((resolve, reject) => {
    check.once('error', reject);
    check.listen({ port, host, exclusive: true }, resolve);
  });
  await new Promise((resolve) => check.close(resolve));
}

/** A service that cannot start says why in one line (no stack for a bad setting) and exits 1. */
export function exitOnStartupError(service: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: `cannot start: ${message}` })}\n`);
  process.exit(1);
}
