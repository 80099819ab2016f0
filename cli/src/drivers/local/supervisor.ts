// The local stand-in for a cluster: N replica processes per target (any command that serves HTTP
// on the port it is given), restarted when they die (as a ReplicaSet would), behind the target's
// front port. As kube-proxy, the supervisor stays out of the data path where it can: a replica that
// says it takes handed-over connections (service-kit's supervised.ts) gets each caller's connection
// unread over its IPC channel, so a request costs what it costs with the services wired directly;
// any other server gets them through a plain TCP proxy. A small control API lets chaosctl read
// status (at once or when it changes), kill replicas and add latency: while a delay is in force the
// target's new connections go through a delaying relay (delay-relay.ts) instead, and the
// connections already open are released, so that callers reconnect through it. Every fault carries
// its own deadline and expires on its own.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

import type { LocalRun } from '../../suite/local-run.js';
import { DEFAULT_READINESS, DEFAULT_REPLICAS } from './defaults.js';
import { DelayRelay } from './delay-relay.js';

/** A target as the supervisor runs it: its replicas behind one front port. */
export interface LocalTarget {
  /** A DNS-1123 name; its replicas are <name>-0, <name>-1... */
  name: string;
  /** The front port callers use (the Service's, in cluster terms). */
  port: number;
  /** How each replica runs, as a suite file declares it, with `cwd` an absolute directory. */
  run: LocalRun & { cwd: string };
}

export interface SupervisorConfig {
  /** In start order; a {url:<name>} is the named target's front URL, known before any starts. */
  targets: LocalTarget[];
  /** Each target's {dataDir} is <dataDir>/<name>, shared by its replicas. */
  dataDir: string;
  controlPort: number;
  /**
   * Where to record the pids of the supervisor and of every replica it starts, so a later
   * `local up` can stop what an earlier supervisor left behind (see platform.ts).
   */
  pidFile?: string;
}

export interface ReplicaStatus {
  id: string;
  pid: number | null;
  port: number;
  ready: boolean;
  restarts: number;
  startedAt: number;
  /**
   * CPU time the replica's process has used since it started (user + system, all its threads, from
   * /proc/<pid>/stat), in ms; null when it cannot be read (no /proc, process gone). Read when the
   * status is asked for, so two statuses give the CPU used between them.
   */
  cpuMs: number | null;
  /**
   * Time the replica's main thread (its event loop) spent runnable but waiting for a CPU since it
   * started (second field of /proc/<pid>/schedstat), in ms; null when it cannot be read. It rises
   * when other processes (CPU burners) starve the replica.
   */
  runQueueWaitMs: number | null;
  /** Crash-loop back-off: how long after its last exit it waits to start again (0: not waiting). */
  backoffMs: number;
  /** Why it is not ready, from its last probe or exit (null once ready): what `local up` reports. */
  probeError: string | null;
  /** When the current process got through each step of its start (epoch ms): where a recovery went. */
  startup: StartupTimes;
}

/**
 * Epoch ms of each step from a replica's replacement to its first caller, null until it happens
 * (or when it cannot be known: a process other than Node.js says nothing of its own start).
 */
export interface StartupTimes {
  /** Its predecessor was killed through the control API (null: it started after an exit, or first). */
  killedAt: number | null;
  /** The supervisor saw its predecessor's exit (after the kill: a killed replica is replaced at once). */
  predecessorExitAt: number | null;
  spawnedAt: number;
  /** Node.js started the process (performance.timeOrigin), then was ready to load its code. */
  processAt: number | null;
  nodeReadyAt: number | null;
  /** A server of its own started listening, the last before it was ready (Node.js: its guard tells). */
  listeningAt: number | null;
  /** Its readiness probe first answered 200. */
  readyAt: number | null;
  /** The first caller's connection went to it. */
  firstConnectionAt: number | null;
}

export interface LatencyFault {
  /** The target's name (the field keeps the name every fault uses). */
  service: string;
  latencyMs: number;
  jitterMs: number;
  until: number;
}

export interface PlatformStatus {
  /** The supervisor's pid: `local up` trusts only its own supervisor's answers, not any on the port. */
  pid: number;
  /** Grows by one or more with every change (readiness, restart, fault added or expired). */
  version: number;
  /** By target name, in start order. */
  services: Record<string, { url: string; replicas: ReplicaStatus[] }>;
  faults: LatencyFault[];
}

/** Probe period of a ready replica: how soon the supervisor notices it stopped being ready. */
const READY_PROBE_MS = 200;
/** Probes in a row without an answer before a ready replica leaves rotation. */
const PROBE_FAILURES = 3;
/** Probe period of a starting replica: readiness is learned within this of its first 200. */
const STARTING_PROBE_MS = 5;
/**
 * The same for a Node.js replica, which is also probed at once whenever it starts listening (its
 * guard tells): the period only matters for a readiness that comes later than its listening.
 */
const STARTING_NODE_PROBE_MS = 50;
/** Crash-loop back-off (a replica that exits before it was ever ready): doubles up to the cap. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** How long a delay's answer waits for the proxied connections it released to close. */
const RELEASE_WAIT_MS = 1000;
/** A long-poll on /status answers after this at most, changed or not. */
const LONG_POLL_MAX_MS = 60_000;
/** A replica that ignores SIGTERM this long is killed. */
const STOP_GRACE_MS = 10_000;
/** The header our services answer with their POD_NAME (service-kit's SERVED_BY_HEADER). */
const SERVED_BY = 'x-served-by';
/** The key of every IPC message between supervisor and replica (service-kit's supervised.ts). */
const MESSAGE = 'chaos-platform:supervisor';

/**
 * Loaded into every replica before its own code (`node --import`): the replica's stdin is a pipe
 * from the supervisor, and it reaches end-of-file when the supervisor dies, however it dies (the
 * kernel closes the supervisor's end, SIGKILL included). The replica then shuts itself down the
 * way SIGTERM does, and is forced out if that hangs. Unref'd, so it never keeps a replica alive.
 * It also tells when Node.js had started (ReplicaStatus.startup) and when a server listens.
 */
const REPLICA_GUARD = `
const tell = (message) => process.send?.({ '${MESSAGE}': message.kind, ...message }, undefined, {}, () => {});
// When Node.js started and was ready for the replica's code: how long a start took before its own code.
tell({ kind: 'node-ready', processAt: performance.timeOrigin, nodeReadyAt: performance.timeOrigin + performance.now() });
// Each server that starts listening (Node's own diagnostics channel): probed at once, not at the next period.
process.getBuiltinModule('node:diagnostics_channel').tracingChannel('net.server.listen').subscribe({
  start() {}, end() {}, asyncStart() {}, error() {},
  asyncEnd: () => tell({ kind: 'listening' }),
});
const stop = () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(1), ${STOP_GRACE_MS}).unref();
};
process.stdin.on('end', stop).on('error', stop).resume().unref();`;
const REPLICA_GUARD_URL = `data:text/javascript,${encodeURIComponent(REPLICA_GUARD)}`;

class Replica {
  child: ChildProcess | undefined;
  /** The command line it was started with, as /proc/<pid>/cmdline shows it (see platform.ts). */
  argv: string[] = [];
  /** The current process said it serves handed-over connections (else: the TCP proxy). */
  acceptsConnections = false;
  ready = false;
  probeError: string | null = null;
  /** Ready at least once since its last spawn: its exit is a kill or a crash, not a crash loop. */
  everReady = false;
  restarts = -1;
  startedAt = 0;
  /** Probes in a row that got no answer. */
  probeFailures = 0;
  /** Exits in a row before readiness: the crash-loop back-off's exponent. */
  failedStarts = 0;
  /** The back-off it waits through now (0 when running or replaced at once). */
  backoffMs = 0;
  /** The readiness probe's keep-alive connection to the current process. */
  pool!: Pool;
  probe: NodeJS.Timeout | undefined;
  /** Probes the current process now, instead of at its next period. */
  probeNow: () => void = () => {};
  /** The current process's start, step by step; `killedAt` is set by a kill before its spawn. */
  startup: StartupTimes = newStartup(null);
  constructor(
    readonly target: LocalTarget,
    readonly id: string,
    /** The current process's port: a replacement gets a new one, as a new pod gets a new IP. */
    public port: number,
  ) {}

  get alive(): boolean {
    const child = this.child;
    return !!child && child.exitCode === null && child.signalCode === null && !child.killed;
  }
}

function newStartup(killedAt: number | null, spawnedAt = Date.now()): StartupTimes {
  return {
    killedAt,
    predecessorExitAt: null,
    spawnedAt,
    processAt: null,
    nodeReadyAt: null,
    listeningAt: null,
    readyAt: null,
    firstConnectionAt: null,
  };
}

/** The front URL of a target, as callers and {url:<target>} know it. */
export const frontUrl = (port: number) => `http://127.0.0.1:${port}`;

/** {port}, {replica}, {dataDir} and {url:<target>}: other braces are the command's own. */
const PLACEHOLDER = /\{(port|replica|dataDir|url:([^}]*))\}/g;

interface Placeholders {
  port: number;
  replica: string;
  dataDir: string;
  /** Front URL by target name. */
  urls: ReadonlyMap<string, string>;
}

/** One argv element or env value with its placeholders filled in; an unknown {url:X} throws. */
export function substitute(text: string, values: Placeholders): string {
  return text.replace(PLACEHOLDER, (_, key: string, target: string | undefined) => {
    if (target === undefined) return String(values[key as 'port' | 'replica' | 'dataDir']);
    const url = values.urls.get(target);
    if (url === undefined)
      throw new Error(
        `{url:${target}} names no target (the targets are ${[...values.urls.keys()].join(', ')})`,
      );
    return url;
  });
}

/** `node` is the Node.js running the supervisor, whatever PATH holds: our own replicas need it. */
const isNode = (command: string) => command === 'node' || command === process.execPath;

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

/** Clock ticks per second of /proc/<pid>/stat's times; 100 on every common Linux. */
let clockTicks: number | undefined;
const ticksPerSecond = () => {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
};

/** CPU used and run-queue wait of one process, from /proc (Linux); nulls elsewhere or once gone. */
export async function cpuOf(pid: number): Promise<Pick<ReplicaStatus, 'cpuMs' | 'runQueueWaitMs'>> {
  const [stat, schedstat] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => undefined),
  ]);
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  // After it come state (field 3) ... utime (field 14) and stime (field 15).
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields ? Number(fields[11]) + Number(fields[12]) : Number.NaN;
  const waitNs = Number(schedstat?.split(' ')[1]);
  return {
    cpuMs: Number.isFinite(ticks) ? (ticks * 1000) / ticksPerSecond() : null,
    runQueueWaitMs: Number.isFinite(waitNs) ? Math.round(waitNs / 1e4) / 100 : null,
  };
}

export class Supervisor {
  /** By target name, in start order. */
  private readonly replicas = new Map<string, Replica[]>();
  private readonly servers: Array<Server | NetServer> = [];
  private faults: LatencyFault[] = [];
  /** The delaying relay of each target with a delay in force. */
  private readonly relays = new Map<string, DelayRelay>();
  /** The replica-side ends of the connections the TCP proxy carries, by target. */
  private readonly proxied = new Map<string, Set<Socket>>();
  /** Front URL by target name. */
  private readonly urls: ReadonlyMap<string, string>;
  private stopping = false;
  private readonly cursor = new Map<string, number>();
  private version = 0;
  /** Long-polls on /status waiting for the next change. */
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly config: SupervisorConfig,
    /** Called when the control API is asked to shut the platform down. */
    private readonly onShutdownRequest: () => void = () => {},
  ) {
    this.urls = new Map(config.targets.map((target) => [target.name, frontUrl(target.port)]));
  }

  async start(): Promise<void> {
    // A {url:X} naming no target fails the start, not a replica's spawn long after.
    for (const { name, run } of this.config.targets) {
      const values = { port: 0, replica: name, dataDir: '', urls: this.urls };
      for (const text of [...run.command, ...Object.values(run.env ?? {})]) {
        try {
          substitute(text, values);
        } catch (error) {
          throw new Error(`target ${name}: ${(error as Error).message}`);
        }
      }
    }
    for (const target of this.config.targets) {
      mkdirSync(this.dataDirOf(target.name), { recursive: true });
      const replicas: Replica[] = [];
      for (let i = 0; i < (target.run.replicas ?? DEFAULT_REPLICAS); i++)
        replicas.push(new Replica(target, `${target.name}-${i}`, await freePort()));
      this.replicas.set(target.name, replicas);
      this.proxied.set(target.name, new Set());
      for (const replica of replicas) this.spawn(replica);
      // Paused on accept: not a byte is read here, so the replica gets the whole request.
      const front = createNetServer({ pauseOnConnect: true }, (socket) => {
        // A caller that resets its connection must not take the supervisor down.
        socket.on('error', () => {});
        this.handOver(target.name, socket);
      });
      this.servers.push(await listening(front, target.port, `target ${target.name}`));
    }
    const control = createServer((req, res) => {
      this.control(req, res).catch((error: Error) => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: error.message }));
      });
    });
    this.servers.push(await listening(control, this.config.controlPort, 'the control API'));
  }

  /** The platform as it is now, with each live replica's CPU figures read from /proc. */
  async status(): Promise<PlatformStatus> {
    // The version and everything it versions are read at one instant, before any await: a change
    // made while /proc is read must be a later version, or a long-poll after this one would wait
    // for a change its caller has never seen.
    const version = this.version;
    const faults = this.activeFaults();
    const snapshot = this.config.targets.map(({ name, port }) => ({
      name,
      port,
      replicas: (this.replicas.get(name) ?? []).map((r) => ({
        id: r.id,
        pid: r.alive ? (r.child?.pid ?? null) : null,
        port: r.port,
        ready: r.ready,
        restarts: r.restarts,
        startedAt: r.startedAt,
        backoffMs: r.backoffMs,
        probeError: r.probeError,
        startup: { ...r.startup },
      })),
    }));
    const services = await Promise.all(
      snapshot.map(async ({ name, port, replicas }) => {
        const measured = await Promise.all(
          replicas.map(async (r) => ({
            ...r,
            ...(r.pid === null ? { cpuMs: null, runQueueWaitMs: null } : await cpuOf(r.pid)),
          })),
        );
        return [name, { url: frontUrl(port), replicas: measured }] as const;
      }),
    );
    return { pid: process.pid, version, services: Object.fromEntries(services), faults };
  }

  /**
   * SIGKILLs every replica still running, synchronously: the last act of an exiting supervisor
   * (supervisor-main.ts). A replica that is not Node.js has no guard watching for its supervisor.
   */
  killReplicas(): void {
    for (const replica of [...this.replicas.values()].flat())
      if (replica.alive) replica.child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    const exits = [...this.replicas.values()].flat().map((replica) => {
      clearTimeout(replica.probe);
      void replica.pool.destroy();
      const child = replica.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      return exited.finally(() => clearTimeout(force));
    });
    await Promise.all(exits);
    this.changed();
    for (const server of this.servers) {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close();
    }
  }

  /** Records a change: the version grows and every long-poll waiting for one answers. */
  private changed(): void {
    this.version++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private later(ms: number, fn: () => unknown): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private dataDirOf(name: string): string {
    return join(this.config.dataDir, name);
  }

  /** Starts the replica's next process; `killedAt`: its predecessor was killed then (control API). */
  private spawn(replica: Replica, killedAt: number | null = null): void {
    const { name, run } = replica.target;
    const values = {
      port: replica.port,
      replica: replica.id,
      dataDir: this.dataDirOf(name),
      urls: this.urls,
    };
    const [command = '', ...args] = run.command.map((arg) => substitute(arg, values));
    const node = isNode(command);
    const file = node ? process.execPath : command;
    const argv = node ? ['--import', REPLICA_GUARD_URL, ...args] : args;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // V8's code cache on disk (Node's own default place): a replacement skips compiling the
      // modules its predecessor compiled, about 10% of its start-up (see docs/performance.md).
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'node-compile-cache'),
      ...Object.fromEntries(
        Object.entries(run.env ?? {}).map(([key, value]) => [key, substitute(value, values)]),
      ),
      ...(run.portEnv ? { [run.portEnv]: String(replica.port) } : {}),
      // What the replica calls itself (our services: in X-Served-By), as a pod does with its name.
      POD_NAME: replica.id,
    };
    const spawnedAt = Date.now();
    const child = spawn(file, argv, {
      cwd: run.cwd,
      env,
      // Node.js: stdin is the pipe REPLICA_GUARD watches, never written, closed when this process
      // dies; the IPC channel carries callers' connections to the replica and faults and draining.
      // Any other command dies with this process by killReplicas() (and `local down` or the next
      // `up` stops what a SIGKILLed supervisor left: see the pid file).
      stdio: node ? ['pipe', 'ignore', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
    });
    child.stdin?.on('error', () => {});
    child.on('message', (message: Record<string, unknown> | null) => {
      if (replica.child !== child) return;
      if (message?.[MESSAGE] === 'node-ready') {
        replica.startup.processAt = Number(message.processAt) || null;
        replica.startup.nodeReadyAt = Number(message.nodeReadyAt) || null;
      }
      if (message?.[MESSAGE] === 'accepts-connections') replica.acceptsConnections = true;
      // A server of its own listens: perhaps the one its readiness waits for.
      if (message?.[MESSAGE] === 'listening' && !replica.ready) {
        replica.startup.listeningAt = Date.now();
        replica.probeNow();
      }
      // A replica that starts shutting down (SIGTERM) says so before its probe would: no new
      // connection is handed to it from then on.
      if (message?.[MESSAGE] !== 'draining' || !replica.ready) return;
      replica.ready = false;
      this.changed();
    });
    const pool = new Pool(`http://127.0.0.1:${replica.port}`);
    replica.child = child;
    replica.argv = [file, ...argv];
    replica.acceptsConnections = false;
    replica.pool = pool;
    replica.backoffMs = 0;
    replica.ready = false;
    replica.everReady = false;
    replica.probeError = 'starting';
    replica.restarts++;
    replica.startup = newStartup(killedAt, spawnedAt);
    replica.startedAt = replica.startup.spawnedAt;
    this.recordPids();
    this.changed();
    let gone = false;
    const startup = replica.startup;
    const onGone = (why: string) => {
      if (gone) return;
      gone = true;
      // Pooled connections to the dead process would fail the next request sent on them.
      void pool.destroy();
      // Already replaced (killed through the control API), or shutting down.
      if (replica.child !== child) {
        if (replica.startup.predecessorExitAt === null && replica.startup !== startup)
          replica.startup.predecessorExitAt = Date.now();
        return;
      }
      replica.ready = false;
      replica.probeError = why;
      if (this.stopping) return this.changed();
      // A replica that had been ready crashed: replace it at once, as a ReplicaSet does. One that
      // keeps dying before it is ready is in a crash loop: back off.
      replica.failedStarts = replica.everReady ? 0 : replica.failedStarts + 1;
      if (replica.failedStarts === 0) {
        const exitAt = Date.now();
        this.spawn(replica);
        replica.startup.predecessorExitAt = exitAt;
        return;
      }
      replica.backoffMs = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (replica.failedStarts - 1));
      this.changed();
      // The next try gets a port of its own: the one it failed on may have been taken between
      // freePort() and its listen (EADDRINUSE) by any other process on the machine.
      this.later(replica.backoffMs, async () => {
        replica.port = await freePort().catch(() => replica.port);
        if (!this.stopping) this.spawn(replica);
      });
    };
    child.once('exit', (code, signal) =>
      onGone(code === null ? `killed by ${signal}` : `exited with code ${code}`),
    );
    // A process that could not be started (ENOENT, EAGAIN, ENOMEM) may never emit 'exit': it is a
    // failed start, and backs off like one. Any later 'error' (a signal or a message that could not
    // be delivered) concerns a process whose 'exit' is still to come.
    child.on('error', (error) => {
      if (child.pid !== undefined) return;
      process.stderr.write(`supervisor: cannot start ${replica.id}: ${error.message}\n`);
      onGone(`cannot start: ${error.message}`);
    });
    this.probe(replica, child, node);
  }

  /**
   * Polls the replica's /readyz: fast while it starts, slower once ready, until it exits. `node`:
   * a Node.js replica, whose guard tells when it listens (probeNow), polled less often meanwhile.
   */
  private probe(replica: Replica, child: ChildProcess, node: boolean): void {
    clearTimeout(replica.probe);
    /** A probe in flight: probeNow() does not start a second one beside it, but the next at once. */
    let probing = false;
    let soon = false;
    const again = () => {
      if (this.stopping || replica.child !== child || !replica.alive) return;
      const period = replica.ready ? READY_PROBE_MS : node ? STARTING_NODE_PROBE_MS : STARTING_PROBE_MS;
      replica.probe = setTimeout(run, soon ? 0 : period);
      soon = false;
    };
    /** `why`: what a failed probe met. */
    const settle = (ready: boolean, why = '', definite = true) => {
      probing = false;
      if (replica.child !== child || !replica.alive) return;
      // A probe that times out on a busy machine is not a verdict: a ready replica leaves rotation
      // after PROBE_FAILURES of those in a row (a kubelet's failureThreshold), at once when it
      // answers "not ready" or refuses the connection.
      replica.probeFailures = ready ? 0 : replica.probeFailures + 1;
      const next = ready || (replica.ready && !definite && replica.probeFailures < PROBE_FAILURES);
      if (next) replica.everReady = true;
      const probeError = next ? null : why;
      if (next && replica.startup.readyAt === null) replica.startup.readyAt = Date.now();
      if (replica.ready !== next || replica.probeError !== probeError) {
        replica.ready = next;
        replica.probeError = probeError;
        this.changed();
      }
      again();
    };
    const path = replica.target.run.readiness ?? DEFAULT_READINESS;
    const run = () => {
      probing = true;
      replica.pool
        .request({ method: 'GET', path, headersTimeout: 1000, bodyTimeout: 1000 })
        .then(async (res) => {
          await res.body.dump();
          const servedBy = res.headers[SERVED_BY];
          if (res.statusCode < 200 || res.statusCode > 299)
            return settle(false, `GET ${path} answered ${res.statusCode}`);
          // Our services name themselves: on a port another of them took, a 200 is not the replica's
          // own. A server that does not name itself is taken at its word.
          if (servedBy !== undefined && servedBy !== replica.id)
            return settle(false, `GET ${path} was answered by ${servedBy}, not ${replica.id}`);
          settle(true);
        })
        .catch((error: NodeJS.ErrnoException) =>
          settle(false, `GET ${path}: ${error.message}`, error.code === 'ECONNREFUSED'),
        );
    };
    replica.probeNow = () => {
      if (replica.child !== child) return;
      if (probing) {
        soon = true;
        return;
      }
      clearTimeout(replica.probe);
      run();
    };
    run();
  }

  private recordPids(): void {
    if (!this.config.pidFile) return;
    const replicas = [...this.replicas.values()]
      .flat()
      .flatMap((r) => (r.child?.pid ? [{ target: r.target.name, pid: r.child.pid, argv: r.argv }] : []));
    writeFileSync(this.config.pidFile, `${JSON.stringify({ supervisor: process.pid, replicas })}\n`);
  }

  private activeFaults(): LatencyFault[] {
    const now = Date.now();
    this.faults = this.faults.filter((fault) => fault.until > now);
    return this.faults;
  }

  /** The next ready replica of the target, round robin, other than one that just failed. */
  private pick(name: string, failed?: Replica): Replica | undefined {
    const ready = (this.replicas.get(name) ?? []).filter((r) => r.ready && r !== failed);
    if (ready.length === 0) return undefined;
    const next = (this.cursor.get(name) ?? 0) + 1;
    this.cursor.set(name, next);
    return ready[next % ready.length];
  }

  /**
   * Gives a caller's connection, unread, to a ready replica: handed over when it takes that, else
   * through the TCP proxy. One that cannot take it (its channel closed or its port refused: it just
   * died) leaves rotation and the connection goes to another once, as kube-proxy retries a refused
   * connection; with no ready replica the caller gets a 503.
   */
  private handOver(name: string, socket: Socket, failed?: Replica): void {
    const target = this.pick(name, failed);
    const child = target?.child;
    if (!target || !child) {
      unavailable(socket, `no ready ${name} replica`);
      return;
    }
    target.startup.firstConnectionAt ??= Date.now();
    const relay = this.relayOf(name);
    if (relay) {
      relay.relay(socket);
      return;
    }
    const retry = () => {
      if (target.child === child && target.ready) {
        target.ready = false;
        this.changed();
      }
      if (failed) unavailable(socket, `${name} replicas could not take the connection`);
      else this.handOver(name, socket, target);
    };
    if (target.acceptsConnections)
      child.send({ [MESSAGE]: 'connection' }, socket, (error) => {
        if (error) retry();
      });
    else this.proxy(name, socket, target.port, retry);
  }

  /**
   * Carries a caller's connection to a replica's own port, both ways, for a server that does not
   * take handed-over connections; `refused` when the replica cannot be reached.
   */
  private proxy(name: string, caller: Socket, port: number, refused: () => void): void {
    const proxied = this.proxied.get(name);
    const upstream = connect(port, '127.0.0.1');
    let connected = false;
    upstream.on('error', () => {
      if (connected) caller.destroy();
      else if (!caller.destroyed) refused();
    });
    // The caller's going (closed, reset, even before the replica answered the connect) takes the
    // replica's end with it; the replica's end closing ends the caller's after the last byte (pipe).
    caller.once('close', () => {
      upstream.destroy();
      proxied?.delete(upstream);
    });
    upstream.once('connect', () => {
      connected = true;
      proxied?.add(upstream);
      caller.pipe(upstream);
      upstream.pipe(caller);
    });
  }

  /** A delay in force in front of the target: its relay, or undefined (the relay of an expired one ends). */
  private relayOf(name: string): DelayRelay | undefined {
    const relay = this.relays.get(name);
    if (relay && !this.activeFaults().some((f) => f.service === name)) {
      relay.end();
      this.relays.delete(name);
      return undefined;
    }
    return relay;
  }

  /**
   * Lets go of the connections a target's callers hold, so that they reconnect through the front:
   * its replicas that took them over are asked to release them; the proxy ends its side of the
   * others (a server closes a connection its client has finished, after any answer in progress),
   * and resolves once the server has (RELEASE_WAIT_MS at most), the caller's end closing with it.
   */
  private release(name: string): Promise<unknown> {
    for (const replica of this.replicas.get(name) ?? [])
      if (replica.child?.connected) replica.child.send({ [MESSAGE]: 'release' }, () => {});
    const closed = [...(this.proxied.get(name) ?? [])].map((upstream) => {
      upstream.end();
      return upstream.closed ? undefined : new Promise((done) => upstream.once('close', done));
    });
    return Promise.race([Promise.all(closed), sleep(RELEASE_WAIT_MS)]);
  }

  private async control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://control');
    const [, resource, name, id] = url.pathname.split('/');
    /** The target a route names, when the platform runs it. */
    const service = name !== undefined && this.replicas.has(name) ? name : undefined;
    if (req.method === 'GET' && resource === 'status') {
      await this.changeAfter(url.searchParams, req);
      return send(200, await this.status());
    }
    // Prometheus HTTP service discovery: every replica, labelled with its target as the job.
    if (req.method === 'GET' && resource === 'sd') {
      return send(
        200,
        [...this.replicas.keys()].map((name) => ({
          targets: (this.replicas.get(name) ?? []).map((r) => `127.0.0.1:${r.port}`),
          labels: { job: name },
        })),
      );
    }
    if (req.method === 'POST' && resource === 'kill' && service) {
      const replica = (this.replicas.get(service) ?? []).find((r) => r.id === id);
      if (!replica?.child?.pid || !replica.alive) return send(404, { error: `no live replica ${id}` });
      const pid = replica.child.pid;
      const killedAt = Date.now();
      // Out of rotation before the signal, so no new request is sent to a dying process.
      replica.ready = false;
      replica.child.kill('SIGKILL');
      // The replacement starts now, on a port of its own, not once the kernel has reaped the old
      // process (tens of ms): a ReplicaSet replaces a deleted pod without waiting for it to go.
      replica.port = await freePort();
      replica.failedStarts = 0;
      this.spawn(replica, killedAt);
      return send(200, { killed: replica.id, pid });
    }
    if (req.method === 'POST' && resource === 'latency' && service) {
      const body = JSON.parse((await readBody(req)).toString()) as {
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
      this.relays.get(service)?.end();
      this.relays.set(service, new DelayRelay(fault, () => this.pick(service)?.port));
      this.changed();
      // Answered once the connections held are let go: a caller's next request goes through the delay.
      await this.release(service);
      // Expiry is a change too: a watcher learns the fault is gone without asking again.
      this.later(Math.max(0, body.durationMs) + 1, () => {
        this.relayOf(service);
        this.changed();
      });
      return send(200, fault);
    }
    if (req.method === 'DELETE' && resource === 'latency') {
      this.faults = this.activeFaults().filter((f) => name !== undefined && f.service !== name);
      for (const name of this.replicas.keys()) this.relayOf(name);
      this.changed();
      return send(200, { faults: this.faults });
    }
    if (req.method === 'POST' && resource === 'shutdown') {
      send(202, { stopping: true });
      this.onShutdownRequest();
      return;
    }
    send(404, { error: `no route ${req.method} ${url.pathname}` });
  }

  /**
   * Long-poll: with `?after=<version>`, waits until the status version differs from it, at most
   * `timeoutMs` (default 25 s, capped at 60 s) or until the caller hangs up. Without it, at once.
   */
  private async changeAfter(params: URLSearchParams, req: IncomingMessage): Promise<void> {
    if (!params.has('after')) return;
    const after = Number(params.get('after'));
    const timeoutMs = Number(params.get('timeoutMs') ?? 25_000);
    if (!Number.isInteger(after) || !Number.isFinite(timeoutMs) || timeoutMs < 0)
      throw new Error('after must be an integer version and timeoutMs a duration in ms');
    // Any other version (not only a later one: a new supervisor counts from 0 again) answers at once.
    if (this.version !== after || this.stopping) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        req.socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(timeoutMs, LONG_POLL_MAX_MS));
      this.waiters.add(done);
      req.socket.once('close', done);
    });
  }
}

/** Listens on 127.0.0.1, resolving once it does; a port in use rejects with what wanted it. */
function listening<T extends Server | NetServer>(server: T, port: number, purpose: string): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} (${purpose}) is already in use (EADDRINUSE): another platform? choose other ports with --base-port`,
            )
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Answers a connection no replica can take with a 503 problem that says why (kube-proxy would
 * refuse it); the request is read and dropped first, so closing does not reset the answer away.
 */
function unavailable(socket: Socket, detail: string): void {
  const body = JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail });
  socket.setTimeout(5000, () => socket.destroy());
  socket.resume();
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n' +
      `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The whole request body of a control call. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
