// Bundles the service in the current directory (an app workspace, after `tsc`) into bundle/main.mjs,
// which the images and the local platform's replicas run. Loading ~1,100 modules file by file was
// most of a service's start-up; from one file, order-service is ready in about 190 ms instead of
// 400 ms, and a killed replica's or pod's successor with it (docs/performance.md).
import { rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { build } from 'esbuild';

// Node's own modules are loaded with require(), not import: importing one builds its ES module
// facade, which reads every export, and node:http's include WebSocket, whose getter loads Node's
// internal undici (a fifth of order-service's start-up on a busy machine). The bundle's CommonJS
// packages (fastify...) already require() theirs.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z:_/]+$/ }, ({ path, kind }) =>
      kind === 'import-statement' && isBuiltin(path) ? { path, namespace: 'builtin' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(path)});`,
    }));
  },
};

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
  plugins: [builtinsByRequire],
  // Less text for V8 to scan and parse as each function first runs: about a tenth of a start's CPU.
  // Names stay as they are, so stack traces still name every function.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
