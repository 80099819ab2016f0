// First thing `npm start`, `npm test` and `npm run platform` do: refuse a Node.js older than the
// root package.json's engines in one line, before a build that would take 16 s to fail the same way.
// Imported for its effect (first import of a script), or run on its own (`node scripts/require-node.mjs`).
import { readFileSync } from 'node:fs';

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// engines.node is ">=MAJOR.MINOR.PATCH".
const wanted = engines.node.replace('>=', '').split('.').map(Number);
const have = process.versions.node.split('.').map(Number);
const index = wanted.findIndex((part, i) => have[i] !== part);
if (index !== -1 && have[index] < wanted[index]) {
  process.stderr.write(
    `chaos-platform needs Node.js ${engines.node.replace('>=', '')} or newer (24 LTS recommended); this is ${process.version}. ` +
      'Without a version manager: npm install --prefix ~/.cache/chaos-platform/node24 node@24, then put ' +
      '~/.cache/chaos-platform/node24/node_modules/node/bin first on PATH (README, "The two commands")\n',
  );
  process.exit(2);
}
