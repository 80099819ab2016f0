// The Pushgateway marker against a real Pushgateway (Debian's prometheus-pushgateway): every
// experiment of a run stays, each in its own group, whatever its name holds.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../drivers/local/supervisor.js';
import type { ExperimentResult } from '../experiments/result.js';
import { groupUrl, PushgatewayMarker } from './pushgateway.js';

// Only what the marker reads of a result.
const result = (name: string, status: ExperimentResult['status'], totalMs: number | null) =>
  ({ name, status, recovery: { totalMs } }) as unknown as ExperimentResult;

describe('PushgatewayMarker', () => {
  let pushgateway: ChildProcess | undefined;
  let url = '';
  const warnings: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // Debian's build persists to /var/lib/prometheus/pushgateway.data by default: in memory only,
    // or groups pushed by an earlier run (or another test) would be there.
    pushgateway = spawn(
      'prometheus-pushgateway',
      [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100; i++) {
      if ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(() => {
    pushgateway?.kill('SIGTERM');
  });

  const pushed = async (metric: string) =>
    (await fetch(`${url}/metrics`).then((r) => r.text()))
      .split('\n')
      .filter((line) => line.startsWith(`${metric}{`))
      .sort();

  it('keeps every experiment of a run, each under its own experiment label', async () => {
    const marker = new PushgatewayMarker(url, (m) => warnings.push(m));
    await marker.started('pod-kill inventory-service');
    expect(await pushed('chaosctl_experiment_active')).toEqual([
      'chaosctl_experiment_active{experiment="pod-kill inventory-service",instance="",job="chaosctl"} 1',
    ]);
    await marker.finished({
      ...result('pod-kill inventory-service', 'pass', 2500),
      fault: { injectedAt: '2026-11-24T10:00:00.000Z' },
      recovery: { totalMs: 2500, capacityRestoredMs: 2500, terminatedMs: 6000, firstFailureMs: null },
    } as unknown as ExperimentResult);
    // Each phase reached, at its own time, for the dashboard's timeline.
    // (2026-11-24T10:00:00Z is 1795514400 s; the Pushgateway prints floats in Go's %g form.)
    expect(await pushed('chaosctl_experiment_phase_timestamp_seconds')).toEqual([
      'chaosctl_experiment_phase_timestamp_seconds{experiment="pod-kill inventory-service",instance="",job="chaosctl",phase="capacityRestoredMs"} 1.7955144025e+09',
      'chaosctl_experiment_phase_timestamp_seconds{experiment="pod-kill inventory-service",instance="",job="chaosctl",phase="terminatedMs"} 1.795514406e+09',
    ]);
    await marker.started('network-delay inventory-service 300ms/50ms');
    await marker.finished(result('network-delay inventory-service 300ms/50ms', 'fail', null));
    expect(await pushed('chaosctl_experiment_passed')).toEqual([
      'chaosctl_experiment_passed{experiment="network-delay inventory-service 300ms/50ms",instance="",job="chaosctl"} 0',
      'chaosctl_experiment_passed{experiment="pod-kill inventory-service",instance="",job="chaosctl"} 1',
    ]);
    expect(await pushed('chaosctl_experiment_recovery_seconds')).toEqual([
      'chaosctl_experiment_recovery_seconds{experiment="network-delay inventory-service 300ms/50ms",instance="",job="chaosctl"} NaN',
      'chaosctl_experiment_recovery_seconds{experiment="pod-kill inventory-service",instance="",job="chaosctl"} 2.5',
    ]);
    expect(await pushed('chaosctl_experiment_active')).toEqual([
      'chaosctl_experiment_active{experiment="network-delay inventory-service 300ms/50ms",instance="",job="chaosctl"} 0',
      'chaosctl_experiment_active{experiment="pod-kill inventory-service",instance="",job="chaosctl"} 0',
    ]);
    expect(warnings).toEqual([]);
  });

  it('replaces only its own group when an experiment runs again', async () => {
    const marker = new PushgatewayMarker(`${url}/`, (m) => warnings.push(m));
    await marker.started('pod-kill inventory-service');
    expect(await pushed('chaosctl_experiment_active')).toEqual([
      'chaosctl_experiment_active{experiment="network-delay inventory-service 300ms/50ms",instance="",job="chaosctl"} 0',
      'chaosctl_experiment_active{experiment="pod-kill inventory-service",instance="",job="chaosctl"} 1',
    ]);
    expect(warnings).toEqual([]);
  });

  it('encodes the experiment as base64url in the path (Pushgateway URL form)', () => {
    expect(groupUrl('http://pg:9091/', 'a/b c')).toBe(
      'http://pg:9091/metrics/job/chaosctl/experiment@base64/YS9iIGM',
    );
    expect(groupUrl('http://pg:9091', '')).toBe('http://pg:9091/metrics/job/chaosctl/experiment@base64/=');
  });

  it('warns, and never throws, when the Pushgateway does not answer', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const seen: string[] = [];
    await new PushgatewayMarker(closed, (m) => seen.push(m)).started('x');
    expect(seen).toEqual([expect.stringMatching(/^pushgateway unreachable: /)]);
  });
});
