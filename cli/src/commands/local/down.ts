// chaosctl local down: stop the local platform and everything it started.
import { Command } from 'commander';
import { stateDirOption } from '../options.js';

export const command = () =>
  new Command('down')
    .description('stop the local platform and everything it started')
    .addOption(stateDirOption())
    .action(run);

export async function run(opts: { stateDir: string }): Promise<void> {
  const { localDown } = await import('../../drivers/local/platform.js');
  process.stdout.write(
    (await localDown(opts.stateDir)) ? 'local platform stopped\n' : 'no local platform was running\n',
  );
}
