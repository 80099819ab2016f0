// chaosctl's start-up (issue 22's "a CLI that starts at once"): the median wall time, from spawn to
// exit, CPU time and peak RSS of each command over BENCH_CLI_RUNS (10) runs, interleaved, beside bare
// Node's for the floor and with the machine's load: on a busy 2-core machine the wall time follows the
// load, the CPU time much less. CPU and RSS come from the child itself (process.resourceUsage() at
// exit, written to a file), so nothing beyond Node is needed. The dry run gets an empty state directory: it never connects.
// Run after `npm run build`: `node scripts/bench/cli-start.mjs`. Bounded: 30 s per run. It measures
// the bundle that `bin` runs (cli/bundle/cli.js); BENCH_CLI_BASELINE=<another cli.js> (say a copy of
// an older build's) measures that one too, interleaved with it, for an A/B on the same load. The last
// line is issue 22's verdict.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'cli/bundle/cli.js');
const baseline = process.env.BENCH_CLI_BASELINE ? resolve(process.env.BENCH_CLI_BASELINE) : undefined;
const runs = Number(process.env.BENCH_CLI_RUNS ?? 10);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  console.error('cli-start: BENCH_CLI_RUNS must be an integer from 1 to 100');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'chaos-cli-start-'));
const usageFile = join(work, 'usage');
const reportUsage = `data:text/javascript,${encodeURIComponent(
  `import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(${JSON.stringify(usageFile)}, JSON.stringify(process.resourceUsage())));`,
)}`;

/** Issue 22's targets where it sets one. */
const TARGET = { ms: 300, mb: 80 };
const chaosctl = (entry, suffix) => [
  { label: `chaosctl --help${suffix}`, args: [entry, '--help'], target: TARGET },
  { label: `chaosctl pod-kill --help${suffix}`, args: [entry, 'pod-kill', '--help'] },
  {
    label: `chaosctl pod-kill --driver local --dry-run${suffix}`,
    args: [
      entry,
      'pod-kill',
      '--service',
      'order-service',
      '--driver',
      'local',
      '--dry-run',
      '--state-dir',
      work,
    ],
    target: TARGET,
  },
  {
    label: `chaosctl validate --offline${suffix}`,
    args: [entry, 'validate', join(root, 'cli/suites/default.yaml'), '--offline'],
  },
];
const commands = [
  { label: 'node itself (the floor)', args: ['-e', '0'] },
  ...chaosctl(cli, ''),
  ...(baseline ? chaosctl(baseline, ` (baseline ${baseline})`) : []),
];

/** One run: wall milliseconds from spawn to exit, the child's CPU milliseconds and peak RSS in MB. */
async function measure({ label, args }) {
  rmSync(usageFile, { force: true });
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', reportUsage, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30_000,
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code, signal] = await once(child, 'exit');
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${label} exited with ${code ?? signal}: ${stderr.trim()}`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8'));
  return { ms, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, mb: usage.maxRSS / 1024 };
}

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

try {
  const samples = commands.map(() => []);
  const loads = [];
  for (let i = 0; i < runs; i++) {
    loads.push(loadavg()[0]);
    for (const [c, command] of commands.entries()) samples[c].push(await measure(command));
  }
  const load = median(loads).toFixed(1);
  const verdicts = [];
  for (const [c, { label, target, args }] of commands.entries()) {
    const ms = median(samples[c].map((s) => s.ms));
    const cpuMs = median(samples[c].map((s) => s.cpuMs));
    const mb = median(samples[c].map((s) => s.mb));
    const met = target && ms < target.ms && mb < target.mb;
    const goal = target ? ` (target < ${target.ms} ms, < ${target.mb} MB: ${met ? 'met' : 'missed'})` : '';
    console.log(
      `${label}: ${ms.toFixed(0)} ms, ${mb.toFixed(0)} MB${goal} [load ${load}; CPU ${cpuMs.toFixed(0)} ms; median of ${runs}]`,
    );
    if (target && args[0] === cli)
      verdicts.push({
        label,
        met,
        figures: `${ms.toFixed(0)} ms (CPU ${cpuMs.toFixed(0)} ms), ${mb.toFixed(0)} MB`,
      });
  }
  console.log(
    `goal: chaosctl start-up (${verdicts.map((v) => v.label).join(' and ')} each < ${TARGET.ms} ms wall, < ${TARGET.mb} MB): ${verdicts.every((v) => v.met) ? 'met' : 'NOT met'} (${verdicts.map((v) => `${v.label.replace('chaosctl ', '')} ${v.figures}`).join('; ')}) [load ${load}; median of ${runs}]`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
