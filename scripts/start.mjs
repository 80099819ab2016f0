// `npm start`, the main job: bring up the local platform (2 replicas per service, embedded SQLite,
// no cluster, no database server), run chaosctl's default suite against it with traffic, print the
// summary, write reports/ (JSON, JUnit, HTML), and tear everything down, also on Ctrl-C.
// `--base-port <port>` goes to `chaosctl local up` (where the platform listens); every other argument
// to `chaosctl run-all` (e.g. `npm start -- --sla 1ms`). Exit code: chaosctl's.
import './require-node.mjs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const cli = fileURLToPath(new URL('../cli/bundle/cli.js', import.meta.url));
const stateDir = ['--state-dir', '.chaosctl'];

/** Splits `--base-port <port>` (or `--base-port=<port>`) off the arguments meant for run-all. */
function splitBasePort(args) {
  const rest = [];
  const up = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--base-port') up.push(arg, args[++i] ?? '');
    else if (arg.startsWith('--base-port=')) up.push(arg);
    else rest.push(arg);
  }
  return { up, rest };
}

let current;
const run = (args) =>
  new Promise((resolve) => {
    current = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' });
    current.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });

await build();
const { up, rest } = splitBasePort(process.argv.slice(2));
let interrupted = false;
// Ctrl-C reaches chaosctl too (same process group): it removes its faults; we then tear down. A
// SIGTERM reaches this process alone: it is passed on to chaosctl as a Ctrl-C.
process.on('SIGINT', () => {
  interrupted = true;
});
process.on('SIGTERM', () => {
  interrupted = true;
  current?.kill('SIGINT');
});

let code = await run(['local', 'up', '--replicas', '2', ...up, ...stateDir]);
// A platform `local up` refused to start (one already runs here, its ports are taken) is not ours
// to stop, and one it failed to start it has stopped already.
if (code !== 0 && !interrupted) process.exit(code);
if (code === 0 && !interrupted) {
  code = await run(['run-all', '--driver', 'local', ...stateDir, '--report-dir', 'reports', ...rest]);
}
await run(['local', 'down', ...stateDir]);
process.exit(interrupted ? 130 : code);
