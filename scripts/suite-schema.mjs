// Writes docs/schemas/suite-v2.schema.json, the JSON Schema of chaosctl's version 2 suite files
// (for editors: `# yaml-language-server: $schema=...`), from the one TypeBox schema chaosctl
// validates with. cli/src/suite/schema.test.ts fails when the file is not what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaOfSuite } from '../cli/dist/suite/json-schema.js';

const file = fileURLToPath(new URL('../docs/schemas/suite-v2.schema.json', import.meta.url));
writeFileSync(file, `${JSON.stringify(jsonSchemaOfSuite(), null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
