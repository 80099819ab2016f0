// A suite's probes and abort conditions checked as a whole, before anything runs: each probe built
// (comparisons, expressions, durations), names unique, and every reference between them resolvable.
import { UsageError } from '../errors.js';
import { parseDuration } from '../experiments/duration.js';
import { type AbortSpec, PROBE_PHASES, type ProbePhase, type ProbeSpec } from '../suite/schema.js';
import { HttpProbe, type UrlOf } from './http-probe.js';
import type { Probe } from './probe.js';
import { PromqlProbe } from './promql-probe.js';

const DEFAULT_EVERY_MS = 1000;

export interface DeclaredProbe {
  probe: Probe;
  phases: readonly ProbePhase[];
  /** Sampling period while the fault is on. */
  everyMs: number;
}

/** Builds every probe; throws a UsageError naming the field (probes[i]...) of the first problem. */
export function probesOf(specs: readonly ProbeSpec[], urlOf: UrlOf): DeclaredProbe[] {
  const seen = new Set<string>();
  return specs.map((spec, i) => {
    const field = `probes[${i}]`;
    if (seen.has(spec.name))
      throw new UsageError(`${field}.name: another probe is already named "${spec.name}"`);
    seen.add(spec.name);
    const phases: readonly ProbePhase[] = spec.when ?? PROBE_PHASES;
    const probe =
      'http' in spec
        ? new HttpProbe(spec.name, spec.http, field, urlOf)
        : new PromqlProbe(spec.name, spec.promql, field);
    const comparing = 'http' in spec ? spec.http.json : spec.promql;
    if (comparing?.unchanged !== undefined && !phases.includes('before'))
      throw new UsageError(
        `${field}.when: unchanged compares with the value read before the fault, so when must include before`,
      );
    const everyMs = spec.every === undefined ? DEFAULT_EVERY_MS : parseDuration(spec.every, `${field}.every`);
    return { probe, phases, everyMs };
  });
}

const unusedUrlOf: UrlOf = () => Promise.reject(new Error('checkProbes reaches nothing'));

/** Checks a suite's probes and abort conditions together; throws a UsageError on the first problem. */
export function checkProbes(probes: readonly ProbeSpec[] = [], abort: readonly AbortSpec[] = []): void {
  const declared = probesOf(probes, unusedUrlOf);
  abort.forEach((condition, i) => {
    const field = `abort[${i}]`;
    if ('probe' in condition) {
      const target = declared.find((d) => d.probe.name === condition.probe);
      if (!target) throw new UsageError(`${field}.probe: no probe is named "${condition.probe}"`);
      if (!target.phases.includes('during'))
        throw new UsageError(
          `${field}.probe: probe "${condition.probe}" is not sampled during the fault (add during to its when)`,
        );
    }
    if ('for' in condition && condition.for !== undefined) parseDuration(condition.for, `${field}.for`);
    if ('window' in condition && condition.window !== undefined)
      parseDuration(condition.window, `${field}.window`);
  });
}
