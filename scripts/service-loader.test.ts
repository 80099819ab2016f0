// A bundled service's loader (scripts/service-loader.mjs, bundle/main.mjs once built): it runs the
// bundle as CommonJS, writes a code cache when the service asks and has none, starts from it next
// time, and writes it anew when V8 rejects it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

const work = mkdtempSync(join(tmpdir(), 'service-loader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const loader = readFileSync(join(import.meta.dirname, 'service-loader.mjs'), 'utf8');

// Stands for a service: what it was given, whether the loader wants a cache, then saves it (as
// startServer does once listening).
const SERVICE = `const save = globalThis[Symbol.for('chaos-platform.save-code-cache')];
const add = (a, b) => a + b;
console.log(JSON.stringify({
  filename: __filename,
  dirname: __dirname,
  join: typeof require('node:path').join,
  exports: module.exports === exports,
  sum: add(1, 2),
  wantsCache: typeof save === 'function',
  line: new Error().stack.split('\\n')[1].match(/service\\.cjs:(\\d+)/)?.[1],
}));
save?.();
`;

/** A bundle/ with the loader for build `build` and the service above. */
function bundle(name: string, build: string): string {
  const dir = join(work, name, 'bundle');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'main.mjs'),
    loader.replace("const BUILD = 'unbuilt';", `const BUILD = '${build}';`),
  );
  writeFileSync(join(dir, 'service.cjs'), SERVICE);
  return dir;
}

async function run(dir: string, cache?: string) {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(dir, 'main.mjs')], {
    env: { PATH: process.env.PATH, ...(cache ? { NODE_COMPILE_CACHE: cache } : {}) },
  });
  expect(stderr).toBe('');
  return JSON.parse(stdout);
}

/** The code caches under `cache`. */
const caches = (cache: string) =>
  readdirSync(join(cache, 'service-bundles')).filter((f) => f.endsWith('.bin'));

describe('the service loader', () => {
  it('runs the bundle as CommonJS, line numbers as in the file', async () => {
    const dir = bundle('plain', 'b1');
    expect(await run(dir)).toEqual({
      filename: join(dir, 'service.cjs'),
      dirname: dir,
      join: 'function',
      exports: true,
      sum: 3,
      wantsCache: false,
      line: '10',
    });
  });

  it('writes a code cache once, then starts from it', async () => {
    const dir = bundle('cached', 'b2');
    const cache = join(work, 'cache-cached');
    expect((await run(dir, cache)).wantsCache).toBe(true);
    expect(caches(cache)).toHaveLength(1);
    expect((await run(dir, cache)).wantsCache).toBe(false);
  });

  it('writes the cache anew when V8 rejects it', async () => {
    const dir = bundle('rejected', 'b3');
    const cache = join(work, 'cache-rejected');
    await run(dir, cache);
    const [file = ''] = caches(cache);
    // The right build, but nothing V8 can read.
    writeFileSync(join(cache, 'service-bundles', file), 'b3 not a code cache');
    expect((await run(dir, cache)).wantsCache).toBe(true);
    expect((await run(dir, cache)).wantsCache).toBe(false);
  });

  it("never reads another build's cache, and replaces it", async () => {
    const cache = join(work, 'cache-builds');
    await run(bundle('rebuilt', 'b4'), cache);
    const dir = bundle('rebuilt', 'b5');
    expect((await run(dir, cache)).wantsCache).toBe(true);
    expect((await run(dir, cache)).wantsCache).toBe(false);
    expect(caches(cache)).toHaveLength(1);
  });

  it('keeps a cache for each place a bundle is in', async () => {
    const cache = join(work, 'cache-places');
    await run(bundle('here', 'b6'), cache);
    expect((await run(bundle('there', 'b6'), cache)).wantsCache).toBe(true);
    expect(caches(cache)).toHaveLength(2);
  });
});
