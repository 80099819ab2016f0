// Suite files: YAML, validated against SuiteSchema with errors that name the bad field.
import { readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { parse } from 'yaml';
import { UsageError } from '../errors.js';
import { type Suite, SuiteSchema } from './spec.js';

export function parseSuite(text: string, source: string): Suite {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new UsageError(`${source}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (Value.Check(SuiteSchema, data)) return data;
  throw new UsageError(`${source}: ${describeFirstError(data)}`);
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
  return parseSuite(text, path);
}

/** The most useful error: experiments are a union, so check each against its own type first. */
function describeFirstError(data: unknown): string {
  const errors = Value.Errors(SuiteSchema, data).filter((e) => e.keyword !== 'boolean');
  const experiments = (data as { experiments?: unknown })?.experiments;
  if (Array.isArray(experiments)) {
    for (const [index, experiment] of experiments.entries()) {
      const type = (experiment as { type?: unknown })?.type;
      const variant = SuiteSchema.properties.experiments.items.anyOf.find(
        (candidate) => candidate.properties.type.const === type,
      );
      if (!variant) {
        return `experiments[${index}].type must be one of pod-kill, network-delay, cpu-stress (got ${JSON.stringify(type)})`;
      }
      const [first] = Value.Errors(variant, experiment).filter((e) => e.keyword !== 'boolean');
      if (first) return `experiments[${index}]${describe(first)}`;
    }
  }
  const [first] = errors;
  return first ? describe(first).replace(/^\./, '') : 'is not a valid suite';
}

function describe(error: { instancePath: string; message: string; params: Record<string, unknown> }): string {
  const path = error.instancePath.split('/').filter(Boolean).join('.');
  const extra = error.params.additionalProperties ? ` (${String(error.params.additionalProperties)})` : '';
  return `${path ? `.${path}` : ''} ${error.message}${extra}`;
}
