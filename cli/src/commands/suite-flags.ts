// What the flags make of a suite: a fault command's one experiment placed in a suite (--suite, or
// the built-in one), and the targets as --url and --selector amend them.
import { type Driver, targetNamed, targetOf } from '../drivers/driver.js';
import { UsageError } from '../errors.js';
import type { ExperimentSpec } from '../experiments/spec.js';
import { BUILT_IN_SUITE } from '../suite/built-in.js';
import { loadSuite, resolveExperiment, type Suite } from '../suite/load.js';
import type { TargetSpec } from '../suite/schema.js';
import { parseSelectors, parseUrls } from './options.js';

/**
 * A fault command's suite. Its target is one of the suite's, amended by --selector/--workload, or a
 * new one. The built-in suite's traffic and probes are the demo shop's: against a target it does not
 * know they are kept only where the shop runs (`shopUnlessAbsent`; the shop's own database, say).
 */
export function suiteForExperiment(spec: ExperimentSpec, suitePath: string | undefined): Suite {
  const suite = loadSuite(suitePath ?? BUILT_IN_SUITE);
  const { service, selector, workload } = targetOf(spec);
  const target: TargetSpec = {
    ...suite.targets[service],
    ...(selector ? { selector } : {}),
    ...(workload ? { workload } : {}),
  };
  return {
    ...suite,
    targets: { ...suite.targets, [service]: target },
    ...(suitePath === undefined && !(service in suite.targets) ? { shopUnlessAbsent: true } : {}),
    experiments: [resolveExperiment(spec, target)],
  };
}

/**
 * The suite without the built-in shop when none of the shop's targets runs where chaosctl acts:
 * its target alone, no traffic, no probes (a warning says so and how to give them).
 */
export async function withoutAbsentShop(driver: Driver, suite: Suite): Promise<Suite> {
  if (!suite.shopUnlessAbsent) return suite;
  const target = suite.experiments[0]?.service as string;
  const shop = Object.keys(suite.targets).filter((name) => name !== target);
  const running = await Promise.all(
    shop.map(
      async (name) => (await driver.replicas(targetNamed(suite.targets, name)).catch(() => [])).length > 0,
    ),
  );
  if (running.some(Boolean)) return suite;
  process.stderr.write(
    `chaosctl: the built-in suite's shop (${shop.join(', ')}) does not run here: ${target} gets no traffic and no probes (give --suite FILE with your own)\n`,
  );
  return {
    ...suite,
    targets: { [target]: suite.targets[target] ?? {} },
    traffic: undefined,
    probes: [],
    abort: [],
  };
}

/**
 * --url <target>=<url> and --selector <target>=<labels> over the suite's targets. A bare --url is
 * where the traffic enters: the target of its first request.
 */
export function amendTargets(suite: Suite, flags: { url?: string[]; selector?: string[] }): Suite {
  const targets = structuredClone(suite.targets);
  const entry = suite.traffic?.requests[0]?.target;
  const named = (name: string, flag: string) => {
    const target = targets[name];
    if (!target)
      throw new UsageError(
        `${flag} names ${name}, which is no target of the suite (targets: ${Object.keys(targets).join(', ')})`,
      );
    return target;
  };
  for (const [name, url] of Object.entries(parseUrls(flags.url ?? []))) {
    if (name === '' && !entry)
      throw new UsageError(
        '--url without a target: the suite declares no traffic; give --url <target>=<url>',
      );
    named(name || (entry as string), '--url').url = url;
  }
  for (const [name, selector] of Object.entries(parseSelectors(flags.selector ?? []).perService)) {
    // `app=web,tier=x` reads as target `app`'s selector too: with one target and no target `app`,
    // it is that target's whole selector.
    const only = suite.experiments.length === 1 ? suite.experiments[0]?.service : undefined;
    if (!targets[name] && only && targets[only]) targets[only].selector = `${name}=${selector}`;
    else named(name, '--selector').selector = selector;
  }
  return {
    ...suite,
    targets,
    experiments: suite.experiments.map((spec) => {
      const target = targets[spec.service];
      return { ...spec, ...(target?.selector ? { selector: target.selector } : {}) };
    }),
  };
}
