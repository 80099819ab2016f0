// The local network delay, carried out by chaosctl's local platform and never by a service: while a
// delay is in force in front of a service, the supervisor hands that service's new connections to
// this relay instead of a replica. It connects to a ready replica's own port and forwards what the
// caller sends latency ± jitter late (in order), the answers at once, so callers see each round
// trip late while probes and Prometheus, on the replica's port, do not. Bytes of a caller that hung
// up meanwhile are never forwarded: a request it gave up on never reaches the service.
import { connect, type Socket } from 'node:net';

export interface Delay {
  latencyMs: number;
  jitterMs: number;
}

export class DelayRelay {
  constructor(private delay: Delay) {}

  /** Relays a paused caller's connection to the replica listening on `port`. */
  relay(caller: Socket, port: number): void {
    const upstream = connect(port, '127.0.0.1');
    const timers = new Set<NodeJS.Timeout>();
    let last = 0;
    const close = () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      caller.destroy();
      upstream.destroy();
    };
    caller.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    caller.on('data', (chunk: Buffer) => {
      // In order: a chunk never overtakes the one before it, whatever the jitter drew.
      const { latencyMs, jitterMs } = this.delay;
      const due = Math.max(last, Date.now() + Math.max(0, latencyMs + (Math.random() * 2 - 1) * jitterMs));
      last = due;
      const timer = setTimeout(() => {
        timers.delete(timer);
        upstream.write(chunk);
      }, due - Date.now());
      timers.add(timer);
    });
    upstream.on('data', (chunk: Buffer) => caller.write(chunk));
    upstream.once('connect', () => caller.resume());
  }

  /** The fault ended: what its connections carry passes at once until their callers close them. */
  end(): void {
    this.delay = { latencyMs: 0, jitterMs: 0 };
  }
}
