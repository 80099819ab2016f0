// The entry point loads only what a command needs: @kubernetes/client-node (most of chaosctl's
// start-up) is for the kubernetes driver alone.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runChaosctl } from '../test/harness.js';

const cli = resolve(import.meta.dirname, '../dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'chaosctl-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A resolve hook (node:module registerHooks) that names every package the process loads.
const hook = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ resolve(s, c, next) { if (!s.startsWith('.') && !s.startsWith('node:') && !s.startsWith('file:')) process.stderr.write('loads ' + s + '\\n'); return next(s, c); } });",
)}`;

async function loaded(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, ['--import', hook, cli, ...args], {
      cwd: work,
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
      timeout: 30_000,
    });
    return { code: 0, stderr };
  } catch (error) {
    return error as { code: number; stderr: string };
  }
}

const podKill = ['pod-kill', '--service', 'order-service'];

describe('chaosctl start-up', () => {
  it.each([
    ['--help answers', ['--help'], /loads commander/, false],
    [
      'a --driver local experiment',
      [...podKill, '--driver', 'local', '--state-dir', work],
      /no local platform is running/,
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
    expect(run.stderr).toMatch(said);
    expect(/loads @kubernetes\/client-node/.test(run.stderr)).toBe(loads);
  });

  // What only a command's run needs: the schema checks, the suite file, HTTP, templates, the spinner
  // and colours, the histograms, the cluster. Help is the command tree alone.
  const RUN_ONLY = ['typebox/value', 'yaml', 'undici', 'jsonata', 'ora', 'chalk', 'hdr-histogram-js'];
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
    const packages = run.stderr.match(/(?<=^loads ).+$/gm) ?? [];
    expect(packages).toContain('commander');
    expect(packages.filter((name) => RUN_ONLY.includes(name) || name.startsWith('@kubernetes/'))).toEqual([]);
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
