// Bundles the service in the current directory (an app workspace, after `tsc`) into
// bundle/service.cjs, run by bundle/main.mjs (scripts/service-loader.mjs), which the images and the
// local platform's replicas run. Loading ~1,100 modules file by file was most of a service's
// start-up; from one file, order-service is ready in about 190 ms instead of 400 ms, and a killed
// replica's or pod's successor with it (docs/performance.md).
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { build } from 'esbuild';

// fastify-metrics import()s @platformatic/prom-client, which we do not install, before falling back
// to prom-client (the name in a variable: esbuild leaves that import() as it is). A vm.Script can
// import() only through an experimental Node.js API: there, it is a require() instead, which fails
// alike while the package is absent.
const optionalByRequire = {
  name: 'optional-by-require',
  setup(build) {
    build.onLoad({ filter: /fastify-metrics[\\/]dist[\\/]resolve-client\.js$/ }, ({ path }) => {
      const text = readFileSync(path, 'utf8');
      const call = 'await import(pkg)';
      if (!text.includes(call)) throw new Error(`${path}: no '${call}' to turn into a require()`);
      // import() of a CommonJS package (as prom-client's forks are) gives module.exports as default.
      return { contents: text.replace(call, '{ default: require(pkg) }'), loader: 'js' };
    });
  },
};

// undici's index loads all of undici (fetch, WebSocket, the mocks, the caches, and Node's web
// streams, zlib and worker_threads under them) where a service uses its Pool and its errors only:
// about 5% of a start's CPU. The bundle takes the index's own lines for those instead. The build
// fails when undici's index no longer has those lines or anything else imports undici.
const UNDICI_USED = "import { errors, Pool } from 'undici';";
const UNDICI_LINES = [
  "const Dispatcher = require('./lib/dispatcher/dispatcher')",
  "const Pool = require('./lib/dispatcher/pool')",
  "const errors = require('./lib/core/errors')",
  "const api = require('./lib/api')",
  'Object.assign(Dispatcher.prototype, api)',
];
const undiciPoolOnly = {
  name: 'undici-pool-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]undici[\\/]index\.js$/ }, ({ path }) => {
      const text = readFileSync(path, 'utf8');
      const missing = UNDICI_LINES.find((line) => !text.includes(line));
      if (missing) throw new Error(`${path} no longer has '${missing}': see undiciPoolOnly`);
      const contents = `${UNDICI_LINES.join('\n')}\nmodule.exports = { Pool, errors };\n`;
      return { contents, loader: 'js', resolveDir: dirname(path) };
    });
  },
};
/** What imports undici in the bundle must import only what undiciPoolOnly keeps. */
function checkUndiciImporters(metafile) {
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (!input.imports.some((i) => /node_modules\/undici\/index\.js$/.test(i.path))) continue;
    if (!readFileSync(file, 'utf8').includes(UNDICI_USED))
      throw new Error(`${file} imports undici beyond '${UNDICI_USED}': see undiciPoolOnly`);
  }
}

// A file a build no longer writes (an older build's chunks) must not linger beside the new ones.
rmSync('bundle', { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: { service: 'dist/main.js' },
  outdir: 'bundle',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  // CommonJS, which the loader can compile with a V8 code cache of its own (an ES module can be
  // only behind an experimental flag); hence no top-level await in the services' main.ts. What the
  // service imports only when it needs it (the PostgreSQL backend) is still evaluated only on that
  // import. Node's own modules are require()d: importing one would build its ES module facade,
  // which reads every export, and node:http's include WebSocket, whose getter loads Node's internal
  // undici (a fifth of order-service's start-up on a busy machine).
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  // pg reaches for an optional native module; pino-pretty is loaded by name, in a worker, on a
  // terminal only. Both resolve from node_modules when they are needed: the repository's, or the
  // production closure beside the bundle in an image.
  external: ['pg', 'pino-pretty'],
  plugins: [optionalByRequire, undiciPoolOnly],
  metafile: true,
  // Less text for V8 to scan and parse as each function first runs: about a tenth of a start's CPU.
  // Names stay as they are, so stack traces still name every function.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
checkUndiciImporters(metafile);
// The loader's vm.Script cannot import() (see optionalByRequire).
if (/\bimport\(/.test(readFileSync('bundle/service.cjs', 'utf8')))
  throw new Error('bundle/service.cjs calls import(): make what it imports external or bundle it');
// The loader, told which build its code cache belongs to.
const hash = createHash('sha256').update(readFileSync('bundle/service.cjs')).digest('hex').slice(0, 16);
const loader = readFileSync(new URL('service-loader.mjs', import.meta.url), 'utf8');
if (!loader.includes("const BUILD = 'unbuilt';")) throw new Error('service-loader.mjs: no BUILD to set');
writeFileSync('bundle/main.mjs', loader.replace("const BUILD = 'unbuilt';", `const BUILD = '${hash}';`));
