// `npm run build` from inside a script that then runs what it built, so the npm script is one node
// process: a signal npm forwards to it (Ctrl-C, SIGTERM) reaches the build too, and then what it
// started, instead of stopping at a shell's `&&` and leaving them behind.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// The npm that runs this script (npm_execpath), when it is npm and not npx.
const npm = process.env.npm_execpath?.endsWith('npm-cli.js') ? process.env.npm_execpath : undefined;

/** Builds every workspace; exits this process with the build's failure, or 130/143 on a signal. */
export async function build() {
  const options = { cwd: root, stdio: 'inherit' };
  const child = npm
    ? spawn(process.execPath, [npm, 'run', '-s', 'build'], options)
    : spawn('npm', ['run', '-s', 'build'], options);
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const [code, signal] = await new Promise((resolve) =>
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  process.off('SIGINT', forward).off('SIGTERM', forward);
  if (signal) process.exit(signal === 'SIGTERM' ? 143 : 130);
  if (code !== 0) process.exit(code ?? 1);
}
