// Bundles chaosctl (run in cli/, after `tsc`) into bundle/: cli.js, which `bin`, `npm run chaosctl`
// and the image run, and supervisor-main.js, the process `chaosctl local up` starts. Loading ~1,000
// modules file by file was most of a dry run's start-up (issue 22; scripts/bench/cli-start.mjs).
// Every file is flat in bundle/, one level under cli/ as each file of dist/ that names a path is
// (package-root.ts, version.ts), so those paths hold for both; and platform.ts finds
// supervisor-main.js beside itself in both.
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

// A chunk a build no longer writes must not linger beside the new ones.
rmSync('bundle', { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: { cli: 'dist/cli.js', 'supervisor-main': 'dist/drivers/local/supervisor-main.js' },
  outdir: 'bundle',
  bundle: true,
  // What a command imports only when it runs (a driver, a backend, the Kubernetes client, the
  // spinner) stays a chunk of its own, loaded on that import: --help loads none of them.
  splitting: true,
  chunkNames: '[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // The CommonJS packages inside (@kubernetes/client-node's dependencies...) call require(); an ES
  // module has none.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  // Which sources each chunk holds: cli/src/cli.test.ts proves from it which packages a command loads.
  metafile: true,
  logLevel: 'warning',
});
writeFileSync('bundle/meta.json', JSON.stringify(metafile));
