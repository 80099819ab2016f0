// Version 1 suites: experiments against the demo shop, whose traffic, read-back and stock
// check were implied. They still load: upgraded to version 2 with the built-in suite's targets,
// traffic and probes, their traffic settings applied to it.
import { type Static, Type } from 'typebox';
import { UsageError } from '../errors.js';
import { Duration, MAX_RETRIES, MAX_RETRY_BACKOFF_MS } from '../experiments/fields.js';
import { ExperimentSchema } from '../experiments/spec.js';
import { MAX_RPS } from '../traffic/limits.js';
import type { SuiteV2, TargetSpec } from './schema.js';

export const SuiteV1Schema = Type.Object(
  {
    version: Type.Literal(1),
    /** Requests per second of order traffic during every experiment. */
    rps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_RPS })),
    warmup: Type.Optional(Duration()),
    cooldown: Type.Optional(Duration()),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRIES })),
    retryBackoff: Type.Optional(Duration({ maxMs: MAX_RETRY_BACKOFF_MS })),
    experiments: Type.Array(ExperimentSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type SuiteV1 = Static<typeof SuiteV1Schema>;

export function upgrade(v1: SuiteV1, builtIn: SuiteV2): SuiteV2 {
  const targets: Record<string, TargetSpec> = structuredClone(builtIn.targets);
  const experiments = v1.experiments.map((experiment) => {
    const { service, selector, workload, ...own } = experiment as typeof experiment & {
      selector?: string;
      workload?: string;
    };
    targets[service] ??= {};
    const target = targets[service];
    for (const [field, value] of Object.entries({ selector, workload }) as Array<
      ['selector' | 'workload', string | undefined]
    >) {
      if (value === undefined) continue;
      if (target[field] !== undefined && target[field] !== value)
        throw new UsageError(
          `experiments name ${service} with two ${field}s ('${target[field]}' and '${value}'): a version 2 suite names each target once`,
        );
      target[field] = value;
    }
    return { ...own, target: service };
  });
  const { rps, warmup, cooldown, retries, retryBackoff } = v1;
  const settings = Object.fromEntries(
    Object.entries({ rps, warmup, cooldown, retries, retryBackoff }).filter(
      ([, value]) => value !== undefined,
    ),
  );
  return {
    ...structuredClone(builtIn),
    version: 2,
    targets,
    ...(builtIn.traffic ? { traffic: { ...structuredClone(builtIn.traffic), ...settings } } : {}),
    experiments: experiments as SuiteV2['experiments'],
  };
}
