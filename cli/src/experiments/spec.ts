// What an experiment is, as flags and suite files both describe it: the union of every fault's
// schema (faults/registry.ts), each with the target part (experiments/fields.ts). Suite files, and
// the problems they can have, are in suite/.
import { type Static, type TSchema, Type } from 'typebox';
import { FAULTS } from '../faults/registry.js';
import type { ThresholdsSchema } from './fields.js';

/** The faults' schemas as a tuple, so that a spec's type is the union of theirs. */
type Schemas<F extends readonly unknown[]> = {
  -readonly [K in keyof F]: F[K] extends { schema: infer S extends TSchema } ? S : never;
};
export const ExperimentSchema = Type.Union(
  FAULTS.map((fault) => fault.schema) as unknown as Schemas<typeof FAULTS>,
);

export type ExperimentSpec = Static<typeof ExperimentSchema>;
export type FaultType = ExperimentSpec['type'];
export const FAULT_TYPES = FAULTS.map((fault) => fault.name);
export type Thresholds = Static<typeof ThresholdsSchema>;
