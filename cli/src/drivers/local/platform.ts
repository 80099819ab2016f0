// `chaosctl local up|status|down`: the supervisor runs detached, so the platform outlives the
// command that started it; a state file says where its control API listens.
import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnreachableError, UsageError } from '../../errors.js';
import { parseDuration } from '../../experiments/duration.js';
import type { LocalRun } from '../../suite/local-run.js';
import { DEFAULT_START_TIMEOUT, SUPERVISOR_PREFIX } from './defaults.js';
import type { LocalTarget, PlatformStatus, SupervisorConfig } from './supervisor.js';

export interface LocalState {
  pid: number;
  controlUrl: string;
  dataDir: string;
  startedAt: string;
  /** The targets it runs, in start order (what the local driver accepts as a target). */
  targets: string[];
}

export interface UpOptions {
  stateDir: string;
  /** What to run, by target name, in port and start order; each `cwd` an absolute directory. */
  targets: Record<string, LocalRun & { cwd: string }>;
  /** The first target's front port; the next targets take the next ports, the control API base + 99. */
  basePort: number;
}

/** The control API's port beside the targets': fixed, so a Prometheus config finds the replicas (GET /sd). */
const CONTROL_OFFSET = 99;

const stateFile = (stateDir: string) => join(stateDir, 'local.json');
/** Written by the supervisor: its pid and its replicas' (see SupervisorConfig.pidFile). */
const pidFile = (stateDir: string) => join(stateDir, 'pids.json');

export function readState(stateDir: string): LocalState | undefined {
  const file = stateFile(stateDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalState) : undefined;
}

/**
 * Whether a process runs: signal 0 checks without signalling; a zombie (exited, not yet reaped by
 * a parent that may never do it) counts as gone.
 */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
};

export interface StatusRequest {
  /** Answer only once the status version differs from this (a long-poll), or at `waitMs`. */
  after?: number;
  /** How long the supervisor may hold a long-poll before answering unchanged (default 25 s). */
  waitMs?: number;
  signal?: AbortSignal;
}

/** The platform's status now, or, with `after`, as soon as it differs from that version. */
export async function fetchStatus(controlUrl: string, request: StatusRequest = {}): Promise<PlatformStatus> {
  const waitMs = request.waitMs ?? 25_000;
  const query = request.after === undefined ? '' : `?after=${request.after}&timeoutMs=${waitMs}`;
  const deadline = AbortSignal.timeout((request.after === undefined ? 0 : waitMs) + 2000);
  // undici's request: fetch refuses some ports (cli/test/bad-ports.test.ts). Loaded on the first
  // call: a command that finds no platform (a dry run) never needs it. From `default`, its
  // module.exports: bundled (scripts/bundle-cli.mjs), a CommonJS package imported dynamically
  // has no named exports.
  const { request: undiciRequest } = (await import('undici')).default;
  const res = await undiciRequest(`${controlUrl}/status${query}`, {
    signal: request.signal ? AbortSignal.any([request.signal, deadline]) : deadline,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`the supervisor answered ${res.statusCode} to GET /status${query}`);
  }
  return (await res.body.json()) as PlatformStatus;
}

/**
 * Follows the platform's status by event: calls `onStatus` with the current status at once, then
 * with every new one as soon as the supervisor reports a change (readiness, restart, fault added or
 * expired), each from a long-poll (`GET /status?after=<version>`) that the supervisor holds until
 * something changes or `waitMs` passes. Several changes between two answers arrive as one status.
 * Resolves when `signal` aborts (or `onStatus` returns true: "seen what I waited for"); rejects when
 * the supervisor does not answer, or with what `onStatus` throws.
 */
export async function watchStatus(
  controlUrl: string,
  onStatus: (status: PlatformStatus) => unknown,
  opts: { signal?: AbortSignal; waitMs?: number } = {},
): Promise<void> {
  let after: number | undefined;
  while (!opts.signal?.aborted) {
    let status: PlatformStatus;
    try {
      status = await fetchStatus(controlUrl, { after, waitMs: opts.waitMs, signal: opts.signal });
    } catch (error) {
      if (opts.signal?.aborted) return;
      throw error;
    }
    if (status.version !== after && onStatus(status) === true) return;
    after = status.version;
  }
}

/** Waits, by event, until the status satisfies `check`; rejects after `timeoutMs`. */
export async function waitForStatus(
  controlUrl: string,
  check: (status: PlatformStatus) => boolean,
  timeoutMs: number,
): Promise<PlatformStatus> {
  const signal = AbortSignal.timeout(timeoutMs);
  let seen: PlatformStatus | undefined;
  await watchStatus(
    controlUrl,
    (status) => {
      seen = status;
      return check(status);
    },
    {
      signal,
      waitMs: Math.min(timeoutMs, 25_000),
    },
  );
  if (!seen || !check(seen)) {
    const where = seen ? `; ${describeReadiness(seen)}` : '';
    throw new UnreachableError(`the local platform did not get there within ${timeoutMs} ms${where}`);
  }
  return seen;
}

export const allReady = (status: PlatformStatus) =>
  Object.values(status.services).every((target) => target.replicas.every((replica) => replica.ready));

/** The replicas that are not ready and what they are doing, for a message saying why a wait failed. */
function describeReadiness(status: PlatformStatus): string {
  const waiting = Object.values(status.services).flatMap((target) =>
    target.replicas
      .filter((replica) => !replica.ready)
      .map((replica) => {
        const state =
          replica.backoffMs > 0
            ? `crash-looping, next start in ${replica.backoffMs} ms`
            : replica.pid === null
              ? 'not running'
              : `starting for ${Date.now() - replica.startedAt} ms on port ${replica.port}`;
        return `${replica.id} ${state} (${replica.restarts} restarts)`;
      }),
  );
  return waiting.length === 0 ? 'every replica is ready' : `not ready: ${waiting.join(', ')}`;
}

/**
 * What a process runs, its argv from /proc/<pid>/cmdline (Linux), or undefined when it is gone or
 * cannot be read: a recorded pid is only signalled when its command line shows it is still ours,
 * since the kernel reuses pids.
 */
async function commandLine(pid: number): Promise<string[] | undefined> {
  return readFile(`/proc/${pid}/cmdline`, 'utf8')
    .then((text) => text.split('\0').slice(0, -1))
    .catch(() => undefined);
}

const isSupervisor = (argv: string[] | undefined) =>
  !!argv?.some((arg) => arg.endsWith('supervisor-main.js'));
/** The recorded supervisor still runs: its command line says so, or, without /proc, it exists. */
const supervisorRuns = async (pid: number) => {
  const argv = await commandLine(pid);
  return alive(pid) && (argv === undefined || isSupervisor(argv));
};
/** A replica runs the very command line the supervisor started it with (whatever the command). */
const isReplica = (argv: string[] | undefined, recorded: unknown) =>
  !!argv &&
  Array.isArray(recorded) &&
  argv.length === recorded.length &&
  argv.every((arg, i) => arg === recorded[i]);

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name);
  } catch {
    // exited meanwhile
  }
};

/** SIGTERM, up to 5 s to exit, then SIGKILL. */
async function stopPids(pids: number[]): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(50);
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
}

/**
 * Stops what an earlier platform in this state dir left running (its supervisor killed, say, before
 * its replicas noticed): every recorded pid whose command line is still the supervisor or the
 * recorded replica's. Returns the pids it stopped.
 */
export async function stopLeftovers(stateDir: string): Promise<number[]> {
  const file = pidFile(stateDir);
  if (!existsSync(file)) return [];
  let recorded: { supervisor?: number; replicas?: Array<{ pid: number; argv: string[] }> };
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    recorded = {};
  }
  const candidates = [
    ...(recorded.supervisor ? [{ pid: recorded.supervisor, ours: isSupervisor }] : []),
    ...(recorded.replicas ?? []).map(({ pid, argv }) => ({
      pid,
      ours: (command: string[] | undefined) => isReplica(command, argv),
    })),
  ];
  const ours: number[] = [];
  for (const { pid, ours: check } of candidates)
    if (Number.isInteger(pid) && pid > 0 && check(await commandLine(pid))) ours.push(pid);
  // The supervisor first, or it would replace the replicas stopped under it.
  const [first] = ours;
  if (first !== undefined && first === recorded.supervisor) await stopPids([first]);
  await stopPids(ours.filter((pid) => alive(pid)));
  rmSync(file, { force: true });
  return ours;
}

/** Whether a file exists and this process may execute it. */
const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** A target that cannot start at all fails `up` at once, not after its start timeout. */
function checkRunnable(name: string, run: LocalRun & { cwd: string }): void {
  if (!existsSync(run.cwd)) throw new UsageError(`target ${name}: its cwd ${run.cwd} does not exist`);
  const [command = ''] = run.command;
  // node is the supervisor's own; a placeholder is only known per replica.
  if (command === 'node' || command.includes('{')) return;
  if (command.includes('/')) {
    if (!executable(resolve(run.cwd, command)))
      throw new UsageError(`target ${name}: ${command} is not an executable file (from ${run.cwd})`);
  } else if (!(process.env.PATH ?? '').split(delimiter).some((dir) => dir && executable(join(dir, command))))
    throw new UsageError(`target ${name}: ${command} is not found in PATH`);
}

/** Starts the targets in the background and resolves once every replica is ready. */
export async function localUp(opts: UpOptions): Promise<LocalState> {
  const existing = readState(opts.stateDir);
  if (existing && (await supervisorRuns(existing.pid))) {
    throw new UsageError(
      `a local platform is already running (pid ${existing.pid}); run 'chaosctl local down' first`,
    );
  }
  const names = Object.keys(opts.targets);
  if (names.length === 0 || names.length > CONTROL_OFFSET)
    throw new UsageError(`the local platform runs 1 to ${CONTROL_OFFSET} targets (got ${names.length})`);
  for (const [name, run] of Object.entries(opts.targets)) checkRunnable(name, run);
  const startTimeouts = new Map(
    Object.entries(opts.targets).map(([name, run]) => [
      name,
      parseDuration(run.startTimeout ?? DEFAULT_START_TIMEOUT, `target ${name}: startTimeout`),
    ]),
  );
  mkdirSync(opts.stateDir, { recursive: true });
  await stopLeftovers(opts.stateDir);
  // Every `up` starts from fresh data (the demo: the seeded catalogue), so runs are comparable.
  const dataDir = join(opts.stateDir, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  const targets: LocalTarget[] = Object.entries(opts.targets).map(([name, run], i) => ({
    name,
    port: opts.basePort + i,
    run,
  }));
  const controlPort = opts.basePort + CONTROL_OFFSET;
  const config: SupervisorConfig = { targets, dataDir, controlPort, pidFile: pidFile(opts.stateDir) };
  const logFile = join(opts.stateDir, 'supervisor.log');
  const log = openSync(logFile, 'a');
  const logStart = fstatSync(log).size;
  // supervisor-main.js is beside this code in dist/drivers/local/ and in bundle/ alike.
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'supervisor-main.js'), JSON.stringify(config)],
    {
      detached: true,
      stdio: ['ignore', log, log],
    },
  );
  child.unref();
  const state: LocalState = {
    pid: child.pid ?? 0,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    dataDir,
    startedAt: new Date().toISOString(),
    targets: names,
  };
  writeFileSync(stateFile(opts.stateDir), `${JSON.stringify(state, null, 2)}\n`);

  const started = Date.now();
  let version: number | undefined;
  let last: PlatformStatus | undefined;
  for (;;) {
    if (!alive(state.pid)) {
      await localDown(opts.stateDir);
      throw new UnreachableError(
        `the local platform could not start: ${startFailure(readFileSync(logFile).subarray(logStart).toString())}`,
      );
    }
    // Long-polls once the control API answers, so readiness is seen the moment it comes; short ones
    // keep an eye on the supervisor itself (it may exit while starting) and on the start timeouts.
    const status = await fetchStatus(state.controlUrl, { after: version, waitMs: 500 }).catch(
      () => undefined,
    );
    // Another platform may hold the control port: only our own supervisor's word counts.
    const ours = status?.pid === state.pid ? status : undefined;
    if (ours && allReady(ours)) return state;
    if (ours) {
      last = ours;
      version = ours.version;
    } else await sleep(20);
    const late = names.find(
      (name) =>
        Date.now() - started >= (startTimeouts.get(name) ?? 0) &&
        !last?.services[name]?.replicas.every((replica) => replica.ready),
    );
    if (late !== undefined) {
      await localDown(opts.stateDir);
      throw new UnreachableError(notReady(late, startTimeouts.get(late) ?? 0, last));
    }
  }
}

/** One line: the target that was not ready in time and why, from its first unready replica's last probe. */
function notReady(name: string, timeoutMs: number, status: PlatformStatus | undefined): string {
  const head = `target ${name} was not ready within ${timeoutMs / 1000}s`;
  if (!status) return `${head}: the supervisor's control API never answered`;
  const replica = status.services[name]?.replicas.find((r) => !r.ready);
  const state = replica && replica.backoffMs > 0 ? ', crash-looping' : '';
  return `${head}: ${replica?.id}${state}: ${replica?.probeError ?? 'not ready'}`;
}

/**
 * Why a supervisor exited while starting, in one line: its own last word (supervisor-main.ts) from
 * what this start wrote to the log, else the log's last line.
 */
function startFailure(log: string): string {
  const lines = log.trim().split('\n');
  const own = lines.findLast((line) => line.startsWith(SUPERVISOR_PREFIX));
  return own?.slice(SUPERVISOR_PREFIX.length) ?? (lines.at(-1) || 'its supervisor exited without saying why');
}

/** Stops the platform and everything it started; false when nothing was running. */
export async function localDown(stateDir: string): Promise<boolean> {
  const state = readState(stateDir);
  if (state && (await supervisorRuns(state.pid))) {
    process.kill(state.pid, 'SIGTERM');
    for (let i = 0; i < 150 && alive(state.pid); i++) await sleep(100);
  }
  if (state) {
    // The supervisor leads its own process group (detached) and its replicas are in it: whatever
    // is left goes with the group.
    try {
      process.kill(-state.pid, 'SIGKILL');
    } catch {
      // the group is already empty
    }
  }
  const leftovers = await stopLeftovers(stateDir);
  rmSync(stateFile(stateDir), { force: true });
  return state !== undefined || leftovers.length > 0;
}

export function requireState(stateDir: string): LocalState {
  const state = readState(stateDir);
  if (!state || !alive(state.pid)) {
    throw new UnreachableError(
      `no local platform is running (state in ${stateDir}); start one with 'chaosctl local up'`,
    );
  }
  return state;
}
