// Bundles the service in the current directory (an app workspace, after `tsc`) into bundle/main.mjs,
// which the images and the local platform's replicas run. Loading ~1,100 modules file by file was
// most of a service's start-up; from one file, order-service is ready in about 190 ms instead of
// 400 ms, and a killed replica's or pod's successor with it (docs/performance.md).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// A chunk a build no longer writes must not linger beside the new ones.
rmSync('bundle', { recursive: true, force: true });
await build({
  entryPoints: ['dist/main.js'],
  outdir: 'bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // What the service imports only when it needs it (the PostgreSQL backend) stays a chunk of its
  // own, loaded on that import, instead of being evaluated on every start.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // pg reaches for an optional native module; pino-pretty is loaded by name, in a worker, on a
  // terminal only. Both resolve from node_modules when they are needed: the repository's, or the
  // production closure beside the bundle in an image.
  external: ['pg', 'pino-pretty'],
  // The CommonJS packages inside (fastify, pino...) call require(); an ES module has none.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
