// Bundles the service in the current directory (an app workspace, after `tsc`) into one ESM file,
// bundle/main.mjs, which the local platform's supervisor runs. Loading ~1,100 modules file by file
// is most of a service's start-up; from one file, order-service is ready in about 280 ms instead of
// 430 ms, and a killed replica's successor with it (docs/performance.md). The images still run
// dist/main.js with their production closure.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/main.js'],
  outfile: 'bundle/main.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // pg is imported only when DATABASE_URL is set (the local platform runs on SQLite) and reaches
  // for an optional native module; pino-pretty is loaded by name, in a worker, on a terminal only.
  // Both resolve from the repository's node_modules when they are needed.
  external: ['pg', 'pino-pretty'],
  // The CommonJS packages inside (fastify, pino...) call require(); an ES module has none.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
