// Runs one experiment: steady state, baseline traffic, the fault (verified to have landed),
// recovery, integrity, thresholds. Traffic flows the whole time and every sample is kept.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver, ServiceName } from '../drivers/driver.js';
import { SERVICE_NAMES } from '../drivers/driver.js';
import { LoadGenerator, type Sample } from '../traffic/load.js';
import { failed, timeline, type WindowStats, windowStats } from '../traffic/stats.js';
import { track } from './cleanup.js';
import { formatMs, parseDuration } from './duration.js';
import { checkIntegrity, type IntegrityResult, stockTotals } from './integrity.js';
import type { ExperimentSpec } from './spec.js';

export interface RunOptions {
  driver: Driver;
  rps: number;
  warmupMs: number;
  cooldownMs: number;
  allowOutage: boolean;
  log: (line: string) => void;
}

export interface ThresholdResult {
  name:
    | 'recovery-time'
    | 'error-rate'
    | 'p95-latency'
    | 'integrity'
    | 'recovery-regression'
    | 'p95-regression';
  limit: number | boolean;
  measured: number | boolean;
  unit: 'ms' | 'ratio' | 'boolean';
  passed: boolean;
}

export interface ExperimentResult {
  name: string;
  type: ExperimentSpec['type'];
  service: ServiceName;
  parameters: Record<string, unknown>;
  status: 'pass' | 'fail' | 'error';
  error?: string;
  warnings: string[];
  startedAt: string;
  finishedAt: string;
  fault: { injectedAt: string | null; removedAt: string | null; verified: boolean; evidence: string };
  recovery: {
    totalMs: number | null;
    replacementReadyMs: number | null;
    requestsSucceedingMs: number | null;
  };
  traffic: { rps: number; before: WindowStats; during: WindowStats; after: WindowStats };
  integrity: IntegrityResult | null;
  thresholds: ThresholdResult[];
  timeline: ReturnType<typeof timeline>;
  events: Array<{ at: string; event: string }>;
}

const DEFAULTS = { recoverySlaMs: 30_000, maxErrorRate: 0.05, maxP95Ms: 2000, integrity: true };

export const experimentName = (spec: ExperimentSpec) => spec.name ?? `${spec.type} ${spec.service}`;

export async function runExperiment(spec: ExperimentSpec, opts: RunOptions): Promise<ExperimentResult> {
  const { driver, log } = opts;
  const startedAt = Date.now();
  const events: ExperimentResult['events'] = [];
  const event = (text: string, at = Date.now()) => {
    events.push({ at: new Date(at).toISOString(), event: text });
    log(text);
  };
  const limits = {
    recoverySlaMs:
      spec.thresholds?.recoverySla === undefined
        ? DEFAULTS.recoverySlaMs
        : parseDuration(spec.thresholds.recoverySla),
    maxErrorRate: spec.thresholds?.maxErrorRate ?? DEFAULTS.maxErrorRate,
    maxP95Ms:
      spec.thresholds?.maxP95 === undefined ? DEFAULTS.maxP95Ms : parseDuration(spec.thresholds.maxP95),
    integrity: spec.thresholds?.integrity ?? DEFAULTS.integrity,
  };
  const result: ExperimentResult = {
    name: experimentName(spec),
    type: spec.type,
    service: spec.service,
    parameters: parametersOf(spec),
    status: 'error',
    warnings: [],
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: '',
    fault: { injectedAt: null, removedAt: null, verified: false, evidence: '' },
    recovery: { totalMs: null, replacementReadyMs: null, requestsSucceedingMs: null },
    traffic: { rps: opts.rps, before: windowStats([]), during: windowStats([]), after: windowStats([]) },
    integrity: null,
    thresholds: [],
    timeline: [],
    events,
  };

  let load: LoadGenerator | undefined;
  try {
    await steadyState(driver);
    event('steady state: every replica ready');
    result.warnings = await preflight(spec, opts);
    for (const warning of result.warnings) event(`warning: ${warning}`);

    const [orderUrl, inventoryUrl] = await Promise.all([
      driver.url('order-service'),
      driver.url('inventory-service'),
    ]);
    const stockBefore = await stockTotals(inventoryUrl);
    load = new LoadGenerator({ url: orderUrl, rps: opts.rps });
    load.start();
    event(`traffic: ${opts.rps} orders/s`);
    await sleep(opts.warmupMs);

    const fault = await inject(spec, opts, limits.recoverySlaMs, event);
    Object.assign(result.fault, {
      injectedAt: new Date(fault.injectedAt).toISOString(),
      removedAt: new Date(fault.endedAt).toISOString(),
      verified: fault.verified,
      evidence: fault.evidence,
    });

    await sleep(opts.cooldownMs);
    const samples = await load.stop();
    load = undefined;
    event(`traffic stopped: ${samples.length} requests`);

    const before = samples.filter((s) => s.dueAt < fault.injectedAt);
    const during = samples.filter((s) => s.dueAt >= fault.injectedAt && s.dueAt < fault.endedAt);
    const after = samples.filter((s) => s.dueAt >= fault.endedAt);
    result.traffic = {
      rps: opts.rps,
      before: windowStats(before),
      during: windowStats(during),
      after: windowStats(after),
    };
    result.timeline = timeline(samples, startedAt);

    result.recovery = recoveryOf(spec, fault, samples, result.traffic.before);

    result.integrity = await checkIntegrity(orderUrl, inventoryUrl, samples, stockBefore);
    event(
      `integrity: ${result.integrity.readBack}/${result.integrity.acknowledged} acknowledged orders read back, stock ${result.integrity.stockConserved ? 'conserved' : 'NOT conserved'}`,
    );

    result.thresholds = [
      threshold(
        'recovery-time',
        limits.recoverySlaMs,
        result.recovery.totalMs ?? Number.POSITIVE_INFINITY,
        'ms',
      ),
      threshold('error-rate', limits.maxErrorRate, result.traffic.during.errorRate, 'ratio'),
      threshold('p95-latency', limits.maxP95Ms, result.traffic.during.p95Ms, 'ms'),
      ...(limits.integrity
        ? [
            {
              name: 'integrity' as const,
              limit: true,
              measured: result.integrity.passed,
              unit: 'boolean' as const,
              passed: result.integrity.passed,
            },
          ]
        : []),
    ];
    if (!result.fault.verified) {
      result.status = 'error';
      result.error = `the fault did not take effect: ${result.fault.evidence}`;
    } else {
      result.status = result.thresholds.every((t) => t.passed) ? 'pass' : 'fail';
    }
  } catch (error) {
    result.status = 'error';
    result.error = (error as Error).message;
    event(`error: ${result.error}`);
  } finally {
    await load?.stop();
    result.finishedAt = new Date().toISOString();
  }
  return result;
}

interface FaultOutcome {
  injectedAt: number;
  endedAt: number;
  verified: boolean;
  evidence: string;
  replacementReadyAt?: number;
}

async function inject(
  spec: ExperimentSpec,
  { driver }: RunOptions,
  slaMs: number,
  event: (text: string, at?: number) => void,
): Promise<FaultOutcome> {
  switch (spec.type) {
    case 'pod-kill': {
      const initial = await driver.replicas(spec.service);
      const before = new Map(initial.map((r) => [r.id, r.restarts]));
      const readyBefore = initial.filter((r) => r.ready).length;
      const injectedAt = Date.now();
      const killed = await driver.killReplicas(spec.service, killCount(spec, readyBefore));
      event(`fault: killed ${killed.join(', ')}`, injectedAt);
      // Watch until each killed replica is replaced (restarted in place, or gone and succeeded by a
      // new one) and as many replicas are ready as before; give up past the SLA.
      const deadline = injectedAt + slaMs + 10_000;
      while (Date.now() < deadline) {
        const replicas = await driver.replicas(spec.service);
        const replaced = killed.every((id) => {
          const now = replicas.find((r) => r.id === id);
          return now === undefined || (now.restarts > (before.get(id) ?? 0) && now.ready);
        });
        const ready = replicas.filter((r) => r.ready).length;
        if (replaced && ready >= readyBefore && replicas.every((r) => r.ready)) {
          const at = Date.now();
          const successors = replicas.filter((r) => !before.has(r.id)).map((r) => r.id);
          const replacement = successors.length ? `replaced by ${successors.join(', ')}` : 'restarted';
          event(
            `recovered: ${killed.join(', ')} ${replacement}, all ${ready} ready after ${formatMs(at - injectedAt)}`,
            at,
          );
          return {
            injectedAt,
            endedAt: at,
            replacementReadyAt: at,
            verified: true,
            evidence: `${killed.join(', ')} killed and ${replacement}`,
          };
        }
        await sleep(100);
      }
      return {
        injectedAt,
        endedAt: Date.now(),
        verified: killed.length > 0,
        evidence: `${killed.join(', ') || 'nothing'} killed; not replaced in time`,
      };
    }
    case 'network-delay': {
      const latencyMs = parseDuration(spec.latency, 'latency');
      const jitterMs = spec.jitter === undefined ? 0 : parseDuration(spec.jitter, 'jitter');
      const durationMs = parseDuration(spec.duration);
      const url = await driver.url(spec.service);
      const baseline = await probeLatency(url);
      const injectedAt = Date.now();
      const fault = await driver.addLatency(spec.service, latencyMs, jitterMs, durationMs);
      const remove = track(() => fault.remove());
      event(
        `fault: ${latencyMs} ms ± ${jitterMs} ms latency in front of ${spec.service} for ${formatMs(durationMs)}`,
        injectedAt,
      );
      let added: number;
      try {
        // Verified on the target itself: its own probe must answer slower by at least half the delay.
        added = (await probeLatency(url)) - baseline;
        await sleep(Math.max(0, injectedAt + durationMs - Date.now()));
      } finally {
        await remove();
      }
      const endedAt = Date.now();
      event('fault removed', endedAt);
      return {
        injectedAt,
        endedAt,
        verified: added >= latencyMs / 2,
        evidence: `${spec.service}'s /healthz answered ${Math.round(added)} ms slower (${latencyMs} ms injected)`,
      };
    }
    case 'cpu-stress': {
      const workers = spec.workers ?? 2;
      const durationMs = parseDuration(spec.duration);
      const injectedAt = Date.now();
      const burn = await driver.stressCpu(spec.service, workers, durationMs);
      const remove = track(() => burn.remove());
      event(`fault: ${workers} CPU burners next to ${spec.service} for ${formatMs(durationMs)}`, injectedAt);
      let burnedMs: number;
      try {
        burnedMs = await burn.burnedMs();
      } finally {
        await remove();
      }
      const endedAt = Date.now();
      event(`fault ended: burners used ${formatMs(burnedMs)} of CPU`, endedAt);
      const expected = workers * durationMs;
      return {
        injectedAt,
        endedAt,
        verified: burnedMs >= expected * 0.3,
        evidence: `burners used ${Math.round(burnedMs)} ms of CPU (${workers} x ${durationMs} ms planned)`,
      };
    }
  }
}

function recoveryOf(
  spec: ExperimentSpec,
  fault: FaultOutcome,
  samples: readonly Sample[],
  before: WindowStats,
): ExperimentResult['recovery'] {
  const afterFault = samples.filter((s) => s.dueAt >= fault.injectedAt).sort((a, b) => a.dueAt - b.dueAt);
  const lastFailure = afterFault.filter(failed).at(-1);
  // Requests succeed again from the end of the last failed one (or at once, if none failed).
  const succeedingAt = lastFailure ? lastFailure.dueAt + lastFailure.latencyMs : fault.injectedAt;
  if (spec.type === 'pod-kill') {
    const readyAt = fault.replacementReadyAt;
    return {
      totalMs: readyAt === undefined ? null : Math.max(readyAt, succeedingAt) - fault.injectedAt,
      replacementReadyMs: readyAt === undefined ? null : readyAt - fault.injectedAt,
      requestsSucceedingMs: succeedingAt - fault.injectedAt,
    };
  }
  // Timed faults: recovered when, after removal, a request succeeds at baseline speed again.
  const normalMs = Math.max(before.p95Ms * 2, before.p95Ms + 50);
  const back = samples.find((s) => s.dueAt >= fault.endedAt && !failed(s) && s.latencyMs <= normalMs);
  const totalMs = back ? Math.max(0, back.dueAt + back.latencyMs - fault.endedAt) : null;
  return { totalMs, replacementReadyMs: null, requestsSucceedingMs: totalMs };
}

/** Median time of a few GET /healthz calls to a service, as traffic reaches it. */
async function probeLatency(url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((res) => res.arrayBuffer());
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[1] ?? 0;
}

async function steadyState(driver: Driver): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const all = await Promise.all(SERVICE_NAMES.map((service) => driver.replicas(service)));
    if (all.every((replicas) => replicas.length > 0 && replicas.every((r) => r.ready))) return;
    if (Date.now() > deadline) throw new Error('steady state not reached: some replicas are not ready');
    await sleep(200);
  }
}

async function preflight(spec: ExperimentSpec, { driver, allowOutage }: RunOptions): Promise<string[]> {
  const replicas = await driver.replicas(spec.service);
  const ready = replicas.filter((r) => r.ready).length;
  const warnings = await driver.preflight(spec.service);
  if (replicas.length === 1) warnings.push(`${spec.service} has a single replica: any fault is an outage`);
  if (spec.type === 'pod-kill' && killCount(spec, ready) >= ready && !allowOutage) {
    throw new Error(
      `refusing to kill ${killCount(spec, ready)} of ${ready} ready ${spec.service} replicas: that is an outage (pass --allow-outage to do it anyway)`,
    );
  }
  return warnings;
}

const killCount = (spec: Extract<ExperimentSpec, { type: 'pod-kill' }>, ready: number) =>
  spec.count === 'all' ? ready : (spec.count ?? 1);

function threshold(
  name: ThresholdResult['name'],
  limit: number,
  measured: number,
  unit: 'ms' | 'ratio',
): ThresholdResult {
  return {
    name,
    limit,
    measured: Number.isFinite(measured) ? measured : -1,
    unit,
    passed: Number.isFinite(measured) && measured <= limit,
  };
}

function parametersOf(spec: ExperimentSpec): Record<string, unknown> {
  const { name: _name, thresholds: _thresholds, type: _type, service: _service, ...rest } = spec;
  return rest;
}
