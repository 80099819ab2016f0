// The entry point loads only what a command needs: @kubernetes/client-node (most of chaosctl's
// start-up) is for the kubernetes driver alone. chaosctl runs as a bundle (scripts/bundle-cli.mjs):
// a package is loaded when a chunk holding any of its files is, and the bundle's metafile says which
// files each chunk holds.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runChaosctl } from '../test/harness.js';

const cliDir = resolve(import.meta.dirname, '..');
const cli = join(cliDir, 'bundle/cli.js');
const work = mkdtempSync(join(tmpdir(), 'chaosctl-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A load hook (node:module registerHooks) that names every file the process loads.
const hook = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ load(url, c, next) { if (url.startsWith('file:')) process.stderr.write('loads ' + url + '\\n'); return next(url, c); } });",
)}`;

/** The packages each of the bundle's files holds, by its path under cli/ (bundle/<chunk>.js). */
function packagesByChunk(): Map<string, Set<string>> {
  const meta = JSON.parse(readFileSync(join(cliDir, 'bundle/meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  return new Map(
    Object.entries(meta.outputs).map(([output, { inputs }]) => [
      output,
      new Set(
        Object.keys(inputs).flatMap((input) => {
          const [, name] = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input) ?? [];
          return name ? [name] : [];
        }),
      ),
    ]),
  );
}

/** What a run printed (its own lines, stdout then stderr) and the packages it loaded. */
async function loaded(args: string[]): Promise<{ code: number; said: string; packages: string[] }> {
  const run = await promisify(execFile)(process.execPath, ['--import', hook, cli, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, NO_COLOR: '1' },
    timeout: 30_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  const chunks = packagesByChunk();
  const files = (run.stderr.match(/(?<=^loads ).+$/gm) ?? []).map((url) =>
    relative(cliDir, fileURLToPath(url)),
  );
  // Every file loaded is the bundle's, and its metafile knows it (a stale one would prove nothing).
  expect(files.filter((file) => !chunks.has(file))).toEqual([]);
  const packages = new Set(files.flatMap((file) => [...(chunks.get(file) ?? [])]));
  const said = run.stdout + run.stderr.replace(/^loads .*\n/gm, '');
  return { code: run.code, said, packages: [...packages] };
}

const podKill = ['pod-kill', '--service', 'order-service'];
const kubernetesClient = (packages: string[]) => packages.some((name) => name.startsWith('@kubernetes/'));

describe('chaosctl start-up', () => {
  it.each([
    ['--help answers', ['--help'], /Usage: chaosctl/, false],
    [
      'a --driver local experiment',
      [...podKill, '--driver', 'local', '--state-dir', work],
      /no local platform is running/,
      false,
    ],
    [
      'a --driver local --dry-run',
      [...podKill, '--driver', 'local', '--dry-run', '--state-dir', work],
      /dry run \(not connected: no local platform is running/,
      false,
    ],
    [
      'the kubernetes driver',
      [...podKill, '--kubeconfig', join(work, 'missing')],
      /cannot read kubeconfig/,
      true,
    ],
  ])('%s, loading @kubernetes/client-node: %s', async (_, args, said, loads) => {
    const run = await loaded(args);
    expect(run.said).toMatch(said);
    expect(run.packages).toContain('commander');
    expect(kubernetesClient(run.packages)).toBe(loads);
  });

  // What only a command's run needs: the schema checks, the suite file, HTTP, templates, the spinner
  // and colours, the histograms, the cluster. Help is the command tree alone.
  const RUN_ONLY = ['yaml', 'undici', 'jsonata', 'ora', 'chalk', 'hdr-histogram-js'];
  it.each([
    [['--help']],
    [['pod-kill', '--help']],
    [['run-all', '--help']],
    [['validate', '--help']],
    [['report', '--help']],
    [['local', 'up', '--help']],
  ])('%j loads none of the packages only a run needs', async (args) => {
    const run = await loaded(args);
    expect(run.code).toBe(0);
    expect(run.packages.filter((name) => RUN_ONLY.includes(name) || name.startsWith('@kubernetes/'))).toEqual(
      [],
    );
  });

  it('a local dry run that finds no platform loads only the suite and its checks', async () => {
    const run = await loaded([...podKill, '--driver', 'local', '--dry-run', '--state-dir', work]);
    expect(run.code).toBe(0);
    // yaml reads the built-in suite and typebox checks it: a dry run does both, and nothing more.
    expect(run.packages.toSorted()).toEqual(['commander', 'typebox', 'yaml']);
  });
});

const chaosctl = (args: string[]) => runChaosctl(args, { cwd: work, timeoutMs: 30_000 });

describe('chaosctl usage messages', () => {
  it.each([
    [['network-delay', '--service', 'order-service', '--latency', '1s', '--bogus'], 'chaosctl network-delay'],
    [['local', 'up', '--bogus'], 'chaosctl local up'],
    [['local', '--bogus'], 'chaosctl local'],
    [['--bogus'], 'chaosctl'],
  ])('an unknown flag is one line naming the command (%j), exit 2', async (args, command) => {
    const run = await chaosctl(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`chaosctl: unknown option '--bogus' (see ${command} --help)\n`);
  });

  it('a malformed report is refused in one line, exit 2', async () => {
    const file = join(work, 'broken.json');
    writeFileSync(file, '{\n  "schemaVersion": x\n}\n');
    const run = await chaosctl(['report', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^chaosctl: cannot use .*broken\.json: .*JSON.*\n$/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it.each([
    ['network-delay', ['--service', '--latency', '--duration']],
    ['pod-kill', ['--service', '--count']],
    ['run-all', ['--suite', '--sla']],
  ])(
    '%s --help lists its own options before the common ones, and --report-dir names HTML',
    async (command, own) => {
      const { stdout } = await chaosctl([command, '--help']);
      const common = stdout.indexOf('Common options:');
      expect(common).toBeGreaterThan(0);
      for (const flag of own) {
        const at = stdout.indexOf(`  ${flag} `);
        expect(at).toBeGreaterThan(0);
        expect(at).toBeLessThan(common);
      }
      expect(stdout.indexOf('  --driver ')).toBeGreaterThan(common);
      expect(stdout).toMatch(/--report-dir <dir>\s+where the JSON, JUnit and HTML reports go/);
    },
  );
});
