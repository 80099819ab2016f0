// `--pushgateway`: marks each experiment in Prometheus (through a Pushgateway) while it runs, so
// the Grafana dashboard can annotate the chaos, and leaves its outcome behind. Each experiment is a
// group of its own (grouping key job="chaosctl", experiment=<name>): a push replaces only its own
// group, so after run-all every experiment's result is still there. A Pushgateway that does not
// answer costs a warning, never the run.
import { PHASES } from '../experiments/recovery.js';
import type { ExperimentResult } from '../experiments/result.js';

/**
 * The group's URL. Experiment names hold spaces (and could hold '/'), so the label value goes in
 * the Pushgateway's base64url form: /metrics/job/<job>/<label>@base64/<value>
 * (https://github.com/prometheus/pushgateway#url).
 */
export function groupUrl(base: string, experiment: string): string {
  return `${base.replace(/\/$/, '')}/metrics/job/chaosctl/experiment@base64/${Buffer.from(experiment).toString('base64url') || '='}`;
}

export class PushgatewayMarker {
  constructor(
    private readonly url: string,
    private readonly warn: (message: string) => void,
  ) {}

  started(experiment: string): Promise<void> {
    return this.push(experiment, ['# TYPE chaosctl_experiment_active gauge', 'chaosctl_experiment_active 1']);
  }

  finished(result: ExperimentResult): Promise<void> {
    return this.push(result.name, [
      '# TYPE chaosctl_experiment_active gauge',
      'chaosctl_experiment_active 0',
      '# TYPE chaosctl_experiment_passed gauge',
      `chaosctl_experiment_passed ${result.status === 'pass' ? 1 : 0}`,
      '# TYPE chaosctl_experiment_recovery_seconds gauge',
      `chaosctl_experiment_recovery_seconds ${result.recovery.totalMs === null ? 'NaN' : result.recovery.totalMs / 1000}`,
      // Each phase reached, as an absolute time: the dashboard can mark it on the timeline.
      '# TYPE chaosctl_experiment_phase_timestamp_seconds gauge',
      ...phaseTimes(result),
    ]);
  }

  /** PUT: replaces this experiment's group only (its metrics of an earlier run or repeat). */
  private async push(experiment: string, lines: string[]): Promise<void> {
    try {
      const res = await fetch(groupUrl(this.url, experiment), {
        method: 'PUT',
        headers: { 'content-type': 'text/plain; version=0.0.4' },
        body: `${lines.join('\n')}\n`,
        signal: AbortSignal.timeout(3000),
      });
      if (!res.ok) this.warn(`pushgateway answered ${res.status}`);
      await res.arrayBuffer();
    } catch (error) {
      this.warn(`pushgateway unreachable: ${(error as Error).message}`);
    }
  }
}

/** The phases reached, as Unix times (the injection plus each phase's ms), one series per phase. */
function phaseTimes(result: ExperimentResult): string[] {
  const injectedAt = result.fault?.injectedAt ? Date.parse(result.fault.injectedAt) : undefined;
  if (injectedAt === undefined) return [];
  return PHASES.flatMap(([phase]) => {
    const ms = result.recovery[phase];
    return ms === null || ms === undefined
      ? []
      : [`chaosctl_experiment_phase_timestamp_seconds{phase="${phase}"} ${(injectedAt + ms) / 1000}`];
  });
}
