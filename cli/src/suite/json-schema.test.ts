// docs/schemas/suite-v2.schema.json is what chaosctl validates with, published for editors: it is
// exactly the TypeBox schema (npm run schemas writes it), and a JSON Schema validator accepts the
// suites this repository ships and refuses what chaosctl refuses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { jsonSchemaOfSuite } from './json-schema.js';

const repo = join(import.meta.dirname, '../../..');
const published = JSON.parse(readFileSync(join(repo, 'docs/schemas/suite-v2.schema.json'), 'utf8'));
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(published);
const yaml = (path: string) => parse(readFileSync(join(repo, path), 'utf8'));

describe('the published suite schema', () => {
  it('is the schema chaosctl validates with (run `npm run schemas` after changing it)', () => {
    expect(published).toEqual(jsonSchemaOfSuite());
  });

  it.each(['cli/suites/default.yaml', 'examples/webdav/webdav.chaos.yaml'])('accepts %s', (path) => {
    expect(validate(yaml(path))).toBe(true);
  });

  it('refuses an unknown field and a target without its name pattern', () => {
    const suite = yaml('examples/webdav/webdav.chaos.yaml');
    expect(validate({ ...suite, colour: 'blue' })).toBe(false);
    expect(validate({ ...suite, targets: { Files: {} } })).toBe(false);
  });
});
