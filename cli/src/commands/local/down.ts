// chaosctl local down: stop the local platform and everything it started.
import { Command } from 'commander';
import { localDown } from '../../drivers/local/platform.js';
import { stateDirOption } from '../options.js';

export const command = () =>
  new Command('down')
    .description('stop the local platform and everything it started')
    .addOption(stateDirOption())
    .action(run);

export async function run(opts: { stateDir: string }): Promise<void> {
  process.stdout.write(
    (await localDown(opts.stateDir)) ? 'local platform stopped\n' : 'no local platform was running\n',
  );
}
