// Listening and graceful shutdown: the only place a service touches its process (with supervised.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { BaseConfig } from './config.js';
import { type Supervised, serveSupervisorConnections } from './supervised.js';

export interface StartOptions {
  config: Pick<BaseConfig, 'PORT' | 'HOST' | 'SHUTDOWN_DELAY_MS' | 'SHUTDOWN_TIMEOUT_MS'>;
  /** Closes what the app does not own (workers, clients, database), after in-flight requests finish. */
  onShutdown: () => Promise<void>;
}

/**
 * Listens, then on SIGTERM/SIGINT: readiness turns 503, the delay lets load balancers notice,
 * in-flight requests finish, then resources close and the process exits 0. A replica of the local
 * platform also serves the connections its supervisor hands over, and tells it at once it drains.
 */
export async function startServer(app: FastifyInstance, { config, onShutdown }: StartOptions): Promise<void> {
  let supervised: Supervised | undefined;
  closeWithGrace(
    { delay: config.SHUTDOWN_TIMEOUT_MS, logger: { error: (message) => app.log.error(message) } },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'fatal error, shutting down');
      app.log.info({ signal }, 'shutting down');
      app.lifecycle.shuttingDown = true;
      supervised?.draining();
      if (config.SHUTDOWN_DELAY_MS > 0) await sleep(config.SHUTDOWN_DELAY_MS);
      await app.close();
      await onShutdown();
      app.log.info('shutdown complete');
    },
  );
  await app.listen({ port: config.PORT, host: config.HOST });
  supervised = serveSupervisorConnections(app.server);
}

/** A service that cannot start says why in one line (no stack for a bad setting) and exits 1. */
export function exitOnStartupError(service: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: `cannot start: ${message}` })}\n`);
  process.exit(1);
}
