// Entry point of the background process `chaosctl local up` starts. Its configuration arrives as
// one JSON argument; SIGTERM, SIGINT or the control API's shutdown stop every replica it started.
// However this process dies (SIGKILL included), its Node.js replicas follow: each watches a pipe
// from it; any other replica is killed as it exits (a SIGKILL leaves those to `local down`).
import { SUPERVISOR_PREFIX } from './defaults.js';
import { Supervisor, type SupervisorConfig } from './supervisor.js';

const config = JSON.parse(process.argv[2] ?? '{}') as SupervisorConfig;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void supervisor.stop().then(() => process.exit(0));
};
const supervisor = new Supervisor(config, stop);
process.on('exit', () => supervisor.killReplicas());
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
try {
  await supervisor.start();
} catch (error) {
  process.stderr.write(`${SUPERVISOR_PREFIX}${(error as Error).message}\n`);
  await supervisor.stop();
  process.exit(1);
}
