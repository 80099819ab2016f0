// Suite files: YAML, version 2 or 1, checked field by field (errors name the field), then resolved
// into what a run needs: every experiment's target found, version 1's implied demo traffic made
// explicit (upgrade.ts).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Static } from 'typebox';
import { parse } from 'yaml';
import { UsageError } from '../errors.js';
import { shown } from '../experiments/duration.js';
import { ExperimentSchema, type ExperimentSpec, FAULT_TYPES } from '../experiments/spec.js';
import { faultNamed } from '../faults/registry.js';
import { BUILT_IN_SUITE } from './built-in.js';
import { type Discriminated, type Problem, pathText, problemOf } from './problems.js';
import {
  AbortSchema,
  type AbortSpec,
  FileExperimentSchema,
  ProbeSchema,
  type ProbeSpec,
  type SuiteV2,
  SuiteV2Schema,
  type TargetSpec,
} from './schema.js';
import { SuiteV1Schema, upgrade } from './upgrade.js';

/** A suite ready to run: every experiment resolved against its target. */
export interface Suite extends Omit<SuiteV2, 'experiments' | 'version' | 'probes' | 'abort'> {
  probes: ProbeSpec[];
  abort: AbortSpec[];
  /** The file it came from (or what made it: flags). */
  source: string;
  /** Where a local target's relative cwd starts. */
  dir: string;
  experiments: ExperimentSpec[];
  /** A fault command's target the built-in suite does not know: its shop is used only where it runs. */
  shopUnlessAbsent?: boolean;
}

/** An experiment's variant by its `type`. */
const byType =
  (schemas: readonly { properties: { type: { const: string } } }[]): Discriminated['variant'] =>
  (item) => {
    const type = (item as { type?: unknown })?.type;
    const schema = schemas.find((candidate) => candidate.properties.type.const === type);
    return schema
      ? { schema: schema as never }
      : {
          problem: {
            path: ['type'],
            message: `must be one of ${FAULT_TYPES.join(', ')} (got ${shown(type)})`,
          },
        };
  };

/** A union of objects told apart by which of their keys is present (a probe's http/promql...). */
const byKey =
  (schemas: readonly { properties: Record<string, unknown> }[], keys: string[]): Discriminated['variant'] =>
  (item) => {
    const given = keys.filter((k) => typeof item === 'object' && item !== null && k in item);
    if (given.length !== 1)
      return { problem: { path: [], message: `must have exactly one of ${keys.join(', ')}` } };
    const schema = schemas.find((candidate) => (given[0] as string) in candidate.properties);
    return { schema: schema as never };
  };

const V2_UNIONS: Discriminated[] = [
  { at: ['experiments'], variant: byType(FileExperimentSchema.anyOf as never) },
  { at: ['probes'], variant: byKey(ProbeSchema.anyOf, ['http', 'promql']) },
  { at: ['abort'], variant: byKey(AbortSchema.anyOf, ['probe', 'errorRate', 'promql']) },
];
export const V1_UNIONS: Discriminated[] = [
  { at: ['experiments'], variant: byType(ExperimentSchema.anyOf as never) },
];

/** The first problem of a v2 suite document, or undefined. */
export const suiteProblem = (data: unknown): Problem | undefined => {
  const problem = problemOf(SuiteV2Schema, data, V2_UNIONS);
  return problem ?? referenceProblem(data as SuiteV2);
};

export function parseSuite(text: string, source: string, dir = '.'): Suite {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new UsageError(`${source}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const version = (data as { version?: unknown } | null)?.version;
  const refuse = (problem: Problem) =>
    new UsageError(`${source}: ${pathText(problem.path) || 'the suite'} ${problem.message}`);
  if (version === 1) {
    const problem = problemOf(SuiteV1Schema, data, V1_UNIONS);
    if (problem) throw refuse(problem);
    return resolveSuite(upgrade(data as Static<typeof SuiteV1Schema>, builtIn()), source, dir);
  }
  if (version !== 2) throw refuse({ path: ['version'], message: `must be 2 (or 1) (got ${shown(version)})` });
  const problem = suiteProblem(data);
  if (problem) throw refuse(problem);
  return resolveSuite(data as SuiteV2, source, dir);
}

export function loadSuite(path: string): Suite {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read suite ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseSuite(text, path, dirname(resolve(path)));
}

let builtInSuite: SuiteV2 | undefined;
/** The built-in suite's document, as version 1 suites imply its targets, traffic and probes. */
export function builtIn(): SuiteV2 {
  builtInSuite ??= parse(readFileSync(BUILT_IN_SUITE, 'utf8')) as SuiteV2;
  return builtInSuite;
}

/** Every experiment as the runner and the faults see it: its target's name, selector and workload. */
export function resolveSuite(data: SuiteV2, source: string, dir: string): Suite {
  const { version: _version, experiments, ...rest } = data;
  return {
    ...rest,
    source,
    dir,
    probes: data.probes ?? [],
    abort: data.abort ?? [],
    experiments: experiments.map((experiment) => {
      const { target: name, ...own } = experiment as { target: string } & Record<string, unknown>;
      return resolveExperiment({ ...own, service: name } as ExperimentSpec, data.targets[name]);
    }),
  };
}

/**
 * An experiment as the faults see it: its target's selector and workload, and the target's callers
 * where the fault takes callers and the experiment names none.
 */
export function resolveExperiment(spec: ExperimentSpec, target: TargetSpec | undefined): ExperimentSpec {
  const takesCallers = faultNamed(spec.type).schema.properties.callers !== undefined;
  return {
    ...spec,
    ...(target?.selector ? { selector: target.selector } : {}),
    ...(target?.workload ? { workload: target.workload } : {}),
    ...(takesCallers && target?.callers && !(spec as { callers?: unknown }).callers
      ? { callers: target.callers }
      : {}),
  } as ExperimentSpec;
}

/** Names that must refer to something declared: targets, probes. */
function referenceProblem(suite: SuiteV2): Problem | undefined {
  const targets = Object.keys(suite.targets);
  const unknownTarget = (name: string | undefined, path: Array<string | number>): Problem | undefined =>
    name === undefined || targets.includes(name)
      ? undefined
      : { path, message: `names no target of this suite (got '${name}'; targets: ${targets.join(', ')})` };
  const problems = [
    ...suite.experiments.map((e, i) =>
      unknownTarget((e as { target: string }).target, ['experiments', i, 'target']),
    ),
    ...(suite.traffic?.requests ?? []).flatMap((r, i) => [
      unknownTarget(r.target, ['traffic', 'requests', i, 'target']),
      unknownTarget(r.readBack?.target, ['traffic', 'requests', i, 'readBack', 'target']),
    ]),
    ...(suite.probes ?? []).map((p, i) =>
      'http' in p ? unknownTarget(p.http.target, ['probes', i, 'http', 'target']) : undefined,
    ),
  ];
  return problems.find((p) => p !== undefined);
}
