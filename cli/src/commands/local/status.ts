// chaosctl local status: replicas, readiness and active faults of the local platform.
import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { stateDirOption } from '../options.js';

export const command = () =>
  new Command('status')
    .description('replicas, readiness and active faults of the local platform')
    .addOption(stateDirOption())
    .option('--json', 'print JSON', false)
    .action(run);

export async function run(opts: { stateDir: string; json: boolean }): Promise<void> {
  const { allReady, fetchStatus, readState } = await import('../../drivers/local/platform.js');
  const state = readState(opts.stateDir);
  const status = state ? await fetchStatus(state.controlUrl).catch(() => undefined) : undefined;
  if (!status) {
    process.stdout.write(opts.json ? '{"running":false}\n' : 'no local platform is running\n');
    process.exitCode = EXIT.unreachable;
    return;
  }
  if (opts.json)
    return void process.stdout.write(
      `${JSON.stringify({ running: true, ready: allReady(status), ...status }, null, 2)}\n`,
    );
  for (const [name, svc] of Object.entries(status.services)) {
    const ready = svc.replicas.filter((r) => r.ready).length;
    process.stdout.write(
      `${name.padEnd(22)} ${svc.url}  ${ready}/${svc.replicas.length} ready  restarts ${svc.replicas.map((r) => r.restarts).join(',')}\n`,
    );
  }
  for (const fault of status.faults)
    process.stdout.write(
      `fault: ${fault.latencyMs} ms latency on ${fault.service} until ${new Date(fault.until).toISOString()}\n`,
    );
}
