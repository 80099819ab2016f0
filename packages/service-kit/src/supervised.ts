// A replica of chaosctl's local platform (cli/src/drivers/local/supervisor.ts) receives its
// callers' connections from the supervisor, which accepts them on the service's port without
// reading them and passes each over this process's IPC channel (as Node's cluster module does):
// the supervisor stays out of the data path, as kube-proxy does. Active only in a process started
// with an IPC channel; a service started any other way never loads this.
import type { Server, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

/** The key of every message between the supervisor and a replica (other IPC users are ignored). */
const SUPERVISOR_MESSAGE = 'chaos-platform:supervisor';

export interface Supervised {
  /** Tells the supervisor at once that this replica takes no new connections (it is shutting down). */
  draining(): void;
}

/**
 * Serves the connections the supervisor hands over on `server` (and tells it so once it listens), and releases them when it asks
 * (idle ones close at once, busy ones after their answer), so that their callers reconnect through
 * the supervisor, as after an endpoint change. Returns undefined when this process has no supervisor.
 */
export function serveSupervisorConnections(server: Server): Supervised | undefined {
  const channel = process.channel;
  if (!process.send || !channel) return undefined;
  /** Each handed-over connection, with the answer it is busy with (undefined when idle). */
  const handedOver = new Map<Socket, ServerResponse | undefined>();

  server.prependListener('request', (req, res) => {
    if (!handedOver.has(req.socket)) return;
    handedOver.set(req.socket, res);
    res.once('finish', () => {
      if (handedOver.get(req.socket) === res) handedOver.set(req.socket, undefined);
    });
  });

  process.on('message', (message: unknown, handle: unknown) => {
    const kind = (message as Partial<Record<typeof SUPERVISOR_MESSAGE, string>> | null)?.[SUPERVISOR_MESSAGE];
    if (kind === 'connection' && handle instanceof Socket) {
      handedOver.set(handle, undefined);
      handle.once('close', () => handedOver.delete(handle));
      server.emit('connection', handle);
    } else if (kind === 'release') {
      for (const [socket, busy] of handedOver) {
        if (!busy || busy.writableFinished) {
          socket.end();
          continue;
        }
        // Not yet answered: it says so in its headers; answered: the connection ends after it.
        busy.shouldKeepAlive = false;
        busy.once('finish', () => socket.end());
      }
    }
  });
  // Listening for messages refs the channel; a replica must still exit once its server closes.
  channel.unref();
  // The supervisor hands connections only to a replica that says it takes them; any other server
  // it runs gets them through a plain TCP proxy.
  const accepts = () =>
    process.send?.({ [SUPERVISOR_MESSAGE]: 'accepts-connections' }, undefined, {}, () => {});
  if (server.listening) accepts();
  else server.once('listening', accepts);

  return {
    draining: () => {
      if (process.connected) process.send?.({ [SUPERVISOR_MESSAGE]: 'draining' }, undefined, {}, () => {});
    },
  };
}
