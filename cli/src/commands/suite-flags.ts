// What the flags make of a suite: a fault command's one experiment placed in a suite (--suite, or
// the built-in one), and the targets as --url and --selector amend them.
import { targetOf } from '../drivers/driver.js';
import { UsageError } from '../errors.js';
import type { ExperimentSpec } from '../experiments/spec.js';
import { BUILT_IN_SUITE } from '../suite/built-in.js';
import { loadSuite, type Suite } from '../suite/load.js';
import type { TargetSpec } from '../suite/schema.js';
import { parseSelectors, parseUrls } from './options.js';

/**
 * A fault command's suite. Its target is one of the suite's, amended by --selector/--workload, or a
 * new one. The built-in suite's traffic and probes are the demo shop's: a target it does not know
 * gets none of them (the shop is not there to answer), only what a suite given with --suite declares.
 */
export function suiteForExperiment(spec: ExperimentSpec, suitePath: string | undefined): Suite {
  const suite = loadSuite(suitePath ?? BUILT_IN_SUITE);
  const known = spec.service in suite.targets;
  const { service, selector, workload } = targetOf(spec);
  const target: TargetSpec = {
    ...suite.targets[service],
    ...(selector ? { selector } : {}),
    ...(workload ? { workload } : {}),
  };
  const foreign = !known && suitePath === undefined;
  return {
    ...suite,
    targets: foreign ? { [service]: target } : { ...suite.targets, [service]: target },
    ...(foreign ? { traffic: undefined, probes: [], abort: [] } : {}),
    experiments: [
      {
        ...spec,
        ...(target.selector ? { selector: target.selector } : {}),
        ...(target.workload ? { workload: target.workload } : {}),
      },
    ],
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
  for (const [name, selector] of Object.entries(parseSelectors(flags.selector ?? []).perService))
    named(name, '--selector').selector = selector;
  return {
    ...suite,
    targets,
    experiments: suite.experiments.map((spec) => {
      const target = targets[spec.service];
      return { ...spec, ...(target?.selector ? { selector: target.selector } : {}) };
    }),
  };
}
