// The version 2 suite schema as a standalone JSON Schema document (draft 2020-12) for editors and
// other tools: TypeBox's schema is JSON Schema already; this adds the document's identity.
import { SuiteV2Schema } from './schema.js';

export const jsonSchemaOfSuite = () => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/chaos-platform/chaos-platform/docs/schemas/suite-v2.schema.json',
  title: 'chaosctl suite, version 2',
  description:
    'Targets, traffic with read-back, steady-state probes, abort conditions and experiments: see docs/chaosctl.md. Durations are text (300ms, 30s, 2m, 1h) or milliseconds.',
  ...JSON.parse(JSON.stringify(SuiteV2Schema)),
});
