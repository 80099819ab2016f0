// A replica of chaosctl's local platform (cli/src/drivers/local/supervisor.ts) receives its
// callers' connections from the supervisor, which accepts them on the service's port without
// reading them and passes each over this process's IPC channel (as Node's cluster module does):
// the supervisor stays out of the data path, as kube-proxy does. Active only in a process started
// with an IPC channel; a service started any other way never loads this.
import type { Server } from 'node:http';
import { Socket } from 'node:net';

/** The key of every message between the supervisor and a replica (other IPC users are ignored). */
const SUPERVISOR_MESSAGE = 'chaos-platform:supervisor';

/** What the supervisor sends: a caller's connection, or the network delay in front of this service. */
type SupervisorMessage =
  | { [SUPERVISOR_MESSAGE]: 'connection' }
  | { [SUPERVISOR_MESSAGE]: 'delay'; latencyMs: number; jitterMs: number; remainingMs: number };

type Listener = (...args: unknown[]) => void;

export interface Supervised {
  /** Tells the supervisor at once that this replica takes no new connections (it is shutting down). */
  draining(): void;
}

/**
 * Serves the connections the supervisor hands over on `server`, holding each request on them for
 * the network delay in force (the replica's own port, where probes and Prometheus call, is not
 * delayed). Returns undefined when this process has no supervisor.
 */
export function serveSupervisorConnections(server: Server): Supervised | undefined {
  const channel = process.channel;
  if (!process.send || !channel) return undefined;
  const handedOver = new WeakSet<Socket>();
  let delay = { latencyMs: 0, jitterMs: 0, until: 0 };

  process.on('message', (message: unknown, handle: unknown) => {
    const kind = (message as Partial<Record<typeof SUPERVISOR_MESSAGE, string>> | null)?.[SUPERVISOR_MESSAGE];
    if (kind === 'connection' && handle instanceof Socket) {
      handedOver.add(handle);
      server.emit('connection', handle);
    } else if (kind === 'delay') {
      const { latencyMs, jitterMs, remainingMs } = message as Extract<
        SupervisorMessage,
        { latencyMs: number }
      >;
      delay = { latencyMs, jitterMs, until: Date.now() + remainingMs };
    }
  });
  // Listening for messages refs the channel; a replica must still exit once its server closes.
  channel.unref();

  // The request handlers (Fastify's) run after the delay, and not at all for a caller that hung up
  // meanwhile: its request is dropped, not served late.
  const handlers = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    const run = () => {
      if (req.destroyed || res.destroyed) return;
      for (const handler of handlers) handler.call(server, req, res);
    };
    if (!handedOver.has(req.socket) || delay.until <= Date.now()) return run();
    setTimeout(run, Math.max(0, delay.latencyMs + (Math.random() * 2 - 1) * delay.jitterMs));
  });

  return {
    draining: () => {
      if (process.connected) process.send?.({ [SUPERVISOR_MESSAGE]: 'draining' }, undefined, {}, () => {});
    },
  };
}
