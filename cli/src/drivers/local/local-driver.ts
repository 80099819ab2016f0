// The local driver: faults applied to the platform `chaosctl local up` runs.
import { spawn } from 'node:child_process';
import { UnreachableError } from '../../errors.js';
import { CPU_BURNER, reportedCpuMs } from '../cpu-burner.js';
import type { CpuBurn, Driver, InjectedFault, Replica, ServiceName } from '../driver.js';
import { fetchStatus, requireState } from './platform.js';

export class LocalDriver implements Driver {
  readonly name = 'local';
  private readonly controlUrl: string;

  constructor(stateDir: string) {
    this.controlUrl = requireState(stateDir).controlUrl;
  }

  private async status() {
    try {
      return await fetchStatus(this.controlUrl);
    } catch (error) {
      throw new UnreachableError(
        `the local platform's supervisor does not answer: ${(error as Error).message}`,
      );
    }
  }

  private async call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${this.controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    }).catch((error: Error) => {
      throw new UnreachableError(`the local platform's supervisor does not answer: ${error.message}`);
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(String(json.error ?? `supervisor answered ${res.status}`));
    return json;
  }

  close(): void {}

  /** Local replicas always have readiness checks (the supervisor's) and no budget to consult. */
  async preflight(): Promise<string[]> {
    return [];
  }

  async url(service: ServiceName): Promise<string> {
    return (await this.status()).services[service].url;
  }

  async replicas(service: ServiceName): Promise<Replica[]> {
    return (await this.status()).services[service].replicas.map(({ id, ready, restarts }) => ({
      id,
      ready,
      restarts,
    }));
  }

  async killReplicas(service: ServiceName, count: number): Promise<string[]> {
    const ready = (await this.replicas(service)).filter((replica) => replica.ready).slice(0, count);
    for (const replica of ready) await this.call('POST', `/kill/${service}/${replica.id}`);
    return ready.map((replica) => replica.id);
  }

  async addLatency(
    service: ServiceName,
    latencyMs: number,
    jitterMs: number,
    durationMs: number,
  ): Promise<InjectedFault> {
    await this.call('POST', `/latency/${service}`, { latencyMs, jitterMs, durationMs });
    let removed = false;
    return {
      remove: async () => {
        if (removed) return;
        removed = true;
        await this.call('DELETE', `/latency/${service}`);
      },
    };
  }

  async stressCpu(_service: ServiceName, workers: number, durationMs: number): Promise<CpuBurn> {
    // Locally every replica shares this machine's cores, so burners beside them starve them the way
    // a burner inside a container starves that container's CPU quota.
    const burners = Array.from({ length: workers }, () =>
      spawn(process.execPath, ['-e', CPU_BURNER, String(durationMs)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const reports = burners.map(
      (burner) =>
        new Promise<number>((resolve) => {
          let out = '';
          burner.stdout.on('data', (chunk: Buffer) => (out += chunk));
          burner.once('exit', () => resolve(reportedCpuMs(out)));
        }),
    );
    return {
      remove: async () => {
        for (const burner of burners) if (burner.exitCode === null) burner.kill('SIGKILL');
      },
      burnedMs: async () => (await Promise.all(reports)).reduce((sum, ms) => sum + ms, 0),
    };
  }
}
