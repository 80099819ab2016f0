// chaosctl validate: checks a suite without breaking anything. Offline: its schema, the names it
// refers to, its templates and JSONata expressions. Connected (unless --offline): every target
// found at its desired capacity, every entry point reachable, every probe answering.
import { Command, Option } from 'commander';
import { type Driver, targetNamed } from '../drivers/driver.js';
import { EXIT, UnreachableError } from '../errors.js';
import type { Suite } from '../suite/load.js';
import { connectionOptions } from './options.js';

interface Flags {
  driver: 'local' | 'kubernetes';
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  selector?: string[];
  url?: string[];
  stateDir: string;
  offline: boolean;
  json: boolean;
}

export const command = () =>
  connectionOptions(
    new Command('validate')
      .description('check a suite (schema, targets, probes) without injecting anything')
      .argument('<file>', 'suite YAML (version 2, or 1)')
      .option('--offline', 'check the file only: connect to nothing', false)
      .addOption(new Option('--json', 'print the checks as JSON on stdout').default(false))
      .optionsGroup('Where the targets are:'),
  ).action((file: string, flags: Flags) => run(file, flags));

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export async function run(file: string, flags: Flags): Promise<void> {
  // Loaded on run, not for --help (see fault.ts).
  const [{ loadSuite }, { checkProbes }, { compileMix }, { amendTargets }] = await Promise.all([
    import('../suite/load.js'),
    import('../probes/check.js'),
    import('../traffic/mix.js'),
    import('./suite-flags.js'),
  ]);
  // Offline checks throw a UsageError naming the field (exit 2).
  const suite = amendTargets(loadSuite(file), flags);
  checkProbes(suite.probes, suite.abort);
  compileMix(suite.traffic?.requests ?? []);
  const checks: Check[] = [
    {
      what: 'suite',
      ok: true,
      detail: `${Object.keys(suite.targets).length} target(s), ${suite.traffic?.requests.length ?? 0} request(s), ${suite.probes.length} probe(s), ${suite.abort.length} abort condition(s), ${suite.experiments.length} experiment(s)`,
    },
  ];
  if (!flags.offline) {
    const { createDriver } = await import('../drivers/connect.js');
    const driver = await createDriver({ ...flags, backend: 'auto' });
    try {
      checks.push({ what: 'connected', ok: true, detail: await driver.connect(targetsOf(suite)) });
      checks.push(...(await targetChecks(driver, suite)));
      checks.push(...(await probeChecks(driver, suite)));
    } catch (error) {
      checks.push({ what: 'connected', ok: false, detail: (error as Error).message });
    } finally {
      driver.close();
    }
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ suite: file, checks }, null, 2)}\n`);
  else
    for (const check of checks)
      process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'} ${check.what}: ${check.detail}\n`);
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) return;
  // What cannot be reached is exit 3, like an experiment's; a probe that answers wrong is 1.
  process.exitCode = failed.some((c) => c.what === 'connected' || c.what.startsWith('target '))
    ? EXIT.unreachable
    : EXIT.failed;
}

const targetsOf = (suite: Suite) =>
  Object.keys(suite.targets).map((name) => targetNamed(suite.targets, name));

/** Each target at its desired capacity, and reachable where traffic or a probe enters by it. */
async function targetChecks(driver: Driver, suite: Suite): Promise<Check[]> {
  const entries = new Set([
    ...(suite.traffic?.requests ?? []).flatMap((r) => [r.target, r.readBack?.target ?? r.target]),
    ...suite.probes.flatMap((p) => ('http' in p && p.http.target ? [p.http.target] : [])),
  ]);
  return Promise.all(
    targetsOf(suite).map(async (target): Promise<Check> => {
      const what = `target ${target.service}`;
      try {
        // What a run would warn of; it refuses a target with no replica at all (on Kubernetes, a
        // selector that matches no pod), which "0/2 ready" would show as a target down.
        const warnings = await driver.preflight(target);
        const capacity = await driver.capacity(target);
        const url = entries.has(target.service) ? await driver.url(target) : undefined;
        const ok = capacity.desired > 0 && capacity.available >= capacity.desired;
        return {
          what,
          ok,
          detail: `${capacity.available}/${capacity.desired} ready${url ? `, reached at ${url}` : ''}${warnings.map((w) => `; warning: ${w}`).join('')}`,
        };
      } catch (error) {
        return { what, ok: false, detail: (error as Error).message };
      }
    }),
  );
}

/** Every probe once, whatever its phases: does it answer, and does it hold now? */
async function probeChecks(driver: Driver, suite: Suite): Promise<Check[]> {
  if (suite.probes.length === 0) return [];
  const { Hypothesis } = await import('../probes/hypothesis.js');
  const probes = suite.probes.map((p) => ({ ...p, when: ['before' as const] }));
  const hypothesis = new Hypothesis(probes, {
    urlOf: (name) => driver.url(targetNamed(suite.targets, name)),
  });
  try {
    const results = await hypothesis.before();
    return results.map((r) => ({ what: `probe ${r.name}`, ok: r.ok, detail: r.detail }));
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    return [{ what: 'probes', ok: false, detail: (error as Error).message }];
  }
}
