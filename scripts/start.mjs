// `npm start`, the main job: bring up the local platform (2 replicas per service, embedded SQLite,
// no cluster, no database server), run chaosctl's default suite against it with traffic, print the
// summary, write reports/ (JSON, JUnit, HTML), and tear everything down, also on Ctrl-C.
// Extra arguments go to `chaosctl run-all` (e.g. `npm start -- --sla 1ms`). Exit code: chaosctl's.
import { spawn } from 'node:child_process';

const cli = ['cli/dist/cli.js'];
const stateDir = ['--state-dir', '.chaosctl'];

const run = (args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...cli, ...args], { stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });

let interrupted = false;
// Ctrl-C reaches chaosctl too (same process group): it removes its faults; we then tear down.
process.on('SIGINT', () => {
  interrupted = true;
});

let code = await run(['local', 'up', '--replicas', '2', ...stateDir]);
if (code === 0 && !interrupted) {
  code = await run([
    'run-all',
    '--driver',
    'local',
    ...stateDir,
    '--report-dir',
    'reports',
    ...process.argv.slice(2),
  ]);
}
await run(['local', 'down', ...stateDir]);
process.exit(interrupted ? 130 : code);
