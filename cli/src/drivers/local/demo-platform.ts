// The local platform's launcher: the demo shop's three services as local targets, the data
// `chaosctl local up` runs without a suite file, in the shape a suite file's `run` declares.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../package-root.js';
import type { LocalRun } from '../../suite/local-run.js';

const repoRoot = resolve(PACKAGE_ROOT, '..');

/**
 * One service as the images run it: bundled into one file (scripts/bundle-service.mjs), which
 * starts in about half the time dist/main.js takes.
 */
const service = (name: string, env: Record<string, string>): LocalRun & { cwd: string } => ({
  command: ['node', `apps/${name}/bundle/main.mjs`],
  cwd: repoRoot,
  portEnv: 'PORT',
  readiness: '/readyz',
  env: {
    HOST: '127.0.0.1',
    // The probe listener on any free port: PORT + 1000 may be taken (the supervisor probes /readyz
    // on the replica's own port, where no flood arrives: callers come through the front).
    PROBE_PORT: '0',
    // Replicas of a service share its SQLite file, as pods share one database.
    DATA_DIR: '{dataDir}',
    INVENTORY_URL: '{url:inventory-service}',
    NOTIFICATION_URL: '{url:notification-service}',
    LOG_LEVEL: 'warn',
    ...env,
  },
});

/**
 * The demo platform's targets in port order (order-service on the base port, inventory-service and
 * notification-service on the next two), each run from the repository root; `seedStock` is the
 * units per product in the fresh catalogue, `env` anything else every service gets.
 */
export function demoPlatform(
  opts: { seedStock?: number; env?: Record<string, string> } = {},
): Record<string, LocalRun & { cwd: string }> {
  const env = {
    ...(opts.seedStock === undefined ? {} : { SEED_STOCK: String(opts.seedStock) }),
    ...opts.env,
  };
  const targets = Object.fromEntries(
    ['order-service', 'inventory-service', 'notification-service'].map((name) => [name, service(name, env)]),
  );
  for (const [name, { command, cwd }] of Object.entries(targets))
    if (!existsSync(join(cwd, command[1] as string)))
      throw new UsageError(`apps/${name}/bundle/main.mjs is missing; run 'npm run build' first`);
  return targets;
}
