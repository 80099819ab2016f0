// chaosctl local up: the platform as local processes, in the background, once all are ready.
import { Command } from 'commander';
import { localUp } from '../../drivers/local/platform.js';
import { positiveInt, stateDirOption } from '../options.js';

interface Flags {
  replicas: number;
  basePort: number;
  seedStock?: number;
  stateDir: string;
}

export const command = () =>
  new Command('up')
    .description('start every service with N replicas in the background; returns once all are ready')
    .option('--replicas <n>', 'replicas per service', positiveInt('--replicas'), 2)
    .option(
      '--base-port <port>',
      'order-service port; inventory and notification take the next two',
      positiveInt('--base-port'),
      5000,
    )
    .option('--seed-stock <n>', 'units per product in the fresh database', positiveInt('--seed-stock'))
    .addOption(stateDirOption())
    .action(run);

export async function run(opts: Flags): Promise<void> {
  const state = await localUp({
    stateDir: opts.stateDir,
    replicas: opts.replicas,
    basePort: opts.basePort,
    seedStock: opts.seedStock,
  });
  process.stdout.write(
    `local platform up (supervisor pid ${state.pid}): order-service http://127.0.0.1:${opts.basePort}, ` +
      `inventory-service :${opts.basePort + 1}, notification-service :${opts.basePort + 2}, ${opts.replicas} replicas each\n`,
  );
}
