// chaosctl report: the JUnit and HTML reports (and the summary) again from a chaos-report.json.
import { Command } from 'commander';

export const command = () =>
  new Command('report')
    .description(
      'render the JUnit and HTML reports (and the summary) from a chaos-report.json, e.g. one a Job printed',
    )
    .argument('<report.json>', 'a chaos-report.json')
    .option('--report-dir <dir>', 'where the reports go', 'reports')
    .action(run);

export async function run(file: string, opts: { reportDir: string }): Promise<void> {
  // Loaded on run, not for --help (see fault.ts).
  const [{ exitCodeOf, loadReport }, { renderSummary }, { writeReports }] = await Promise.all([
    import('../reporters/report.js'),
    import('../reporters/summary.js'),
    import('../reporters/write.js'),
  ]);
  const report = loadReport(file);
  const files = writeReports(report, opts.reportDir);
  process.stdout.write(`${renderSummary(report)}\nreports: ${files.json}, ${files.junit}, ${files.html}\n`);
  process.exitCode = exitCodeOf(report.verdict);
}
