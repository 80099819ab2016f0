// Suite files: YAML, validated against SuiteSchema with errors that name the bad field.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UsageError } from '../errors.js';
import { problemOf, type Suite } from './spec.js';

export function parseSuite(text: string, source: string): Suite {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new UsageError(`${source}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const problem = problemOf(data);
  if (!problem) return data as Suite;
  const path = problem.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
  throw new UsageError(`${source}: ${path.replace(/^\./, '') || 'the suite'} ${problem.message}`);
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
