// `--pushgateway`: marks each experiment in Prometheus (through a Pushgateway) while it runs, so
// the Grafana dashboard can annotate the chaos, and leaves its outcome behind. A Pushgateway that
// does not answer costs a warning, never the run.
import type { ExperimentResult } from '../experiments/runner.js';

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ');

export class PushgatewayMarker {
  constructor(
    private readonly url: string,
    private readonly warn: (message: string) => void,
  ) {}

  started(experiment: string): Promise<void> {
    return this.push([
      '# TYPE chaosctl_experiment_active gauge',
      `chaosctl_experiment_active{experiment="${label(experiment)}"} 1`,
    ]);
  }

  finished(result: ExperimentResult): Promise<void> {
    const name = label(result.name);
    return this.push([
      '# TYPE chaosctl_experiment_active gauge',
      `chaosctl_experiment_active{experiment="${name}"} 0`,
      '# TYPE chaosctl_experiment_passed gauge',
      `chaosctl_experiment_passed{experiment="${name}"} ${result.status === 'pass' ? 1 : 0}`,
      '# TYPE chaosctl_experiment_recovery_seconds gauge',
      `chaosctl_experiment_recovery_seconds{experiment="${name}"} ${result.recovery.totalMs === null ? 'NaN' : result.recovery.totalMs / 1000}`,
    ]);
  }

  private async push(lines: string[]): Promise<void> {
    try {
      const res = await fetch(`${this.url.replace(/\/$/, '')}/metrics/job/chaosctl`, {
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
