// A bundled service's entry, bundle/main.mjs (scripts/bundle-service.mjs writes it from this file,
// BUILD set to the bundle's content hash): runs bundle/service.cjs from a V8 code cache taken once
// the service has started. Node's own compile cache (NODE_COMPILE_CACHE) holds only the code V8
// compiled before running the file: every function first called during the start (each bundled
// package's module body, Fastify's, pino's...) was parsed and compiled again by every replica, about
// a quarter of its start's CPU (docs/performance.md). A cache made after the start holds them too.
//
// The cache lives beside Node's, under NODE_COMPILE_CACHE (the local platform's supervisor sets it),
// one file per bundle path; without it, the service is compiled as it runs. The first process of a
// build writes the cache when it calls globalThis[Symbol.for('chaos-platform.save-code-cache')]
// (service-kit's startServer does, once listening); the next ones start from it. V8 checks the
// cache against its own version and flags (rejected, it is written anew) but not against the text,
// hence the build's hash at the head of the file.
import { createRequire } from 'node:module';

// Node's own modules by require(), as in the bundle: no ES module facades to build.
const require = createRequire(import.meta.url);
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

const BUILD = 'unbuilt';
const file = join(import.meta.dirname, 'service.cjs');
/** FNV-1a of the bundle's path: one cache per checkout, each build replacing the one before. */
let key = 0x811c9dc5;
for (let i = 0; i < file.length; i++) key = Math.imul(key ^ file.charCodeAt(i), 0x01000193) >>> 0;
const cacheDir = process.env.NODE_COMPILE_CACHE && join(process.env.NODE_COMPILE_CACHE, 'service-bundles');
const cacheFile =
  cacheDir && join(cacheDir, `${key.toString(16).padStart(8, '0')}-${process.version}-${process.arch}.bin`);
let cachedData;
if (cacheFile) {
  try {
    // The build it was made from, then V8's data.
    const stored = readFileSync(cacheFile);
    if (stored.toString('latin1', 0, BUILD.length) === BUILD) cachedData = stored.subarray(BUILD.length);
  } catch {
    // None yet: this process writes it.
  }
}
// CommonJS's own wrapper, on the file's first line so that line numbers in stack traces hold.
// The bundle has no import() (scripts/bundle-service.mjs checks): a vm.Script's needs an
// experimental Node.js API.
const script = new Script(
  `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`,
  { filename: file, cachedData },
);
const SAVE = Symbol.for('chaos-platform.save-code-cache');
if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
  globalThis[SAVE] = () => {
    delete globalThis[SAVE];
    try {
      mkdirSync(cacheDir, { recursive: true });
      // Replicas starting together each write their own file; the last rename wins, whole.
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, Buffer.concat([Buffer.from(BUILD, 'latin1'), script.createCachedData()]));
      renameSync(partial, cacheFile);
    } catch {
      // A cache that cannot be written only costs the next start its compiling.
    }
  };
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, import.meta.dirname);
