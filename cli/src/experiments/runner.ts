// Runs one experiment: steady state, preflight, baseline traffic, the fault (registered for
// removal before it is injected, then verified by an observed effect), recovery milestones,
// integrity, thresholds. Traffic flows the whole time. The runner knows faults only through the
// fault-type module (faults/) and the backend's Injection (backends/).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from '../backends/backend.js';
import { type Driver, type Replica, SERVICE_NAMES, type Target, targetOf } from '../drivers/driver.js';
import { UnsupportedFaultError } from '../errors.js';
import { faultOf } from '../faults/registry.js';
import type { RequestSpec } from '../suite/schema.js';
import { describeRetry, LoadGenerator, type RetryPolicy } from '../traffic/load.js';
import { checkReadBack } from '../traffic/read-back.js';
import { replicaTraffic, timeline, windowStats } from '../traffic/stats.js';
import { warmUp } from '../traffic/warmup.js';
import { BreakerWatch } from './breaker-watch.js';
import { track } from './cleanup.js';
import { formatMs, parseDuration } from './duration.js';
import { DEFAULT_THRESHOLDS } from './fields.js';
import { stockTotals } from './integrity.js';
import { attribute, type Phases, phases } from './recovery.js';
import type { ExperimentResult, ThresholdResult } from './result.js';
import type { ExperimentSpec } from './spec.js';

export interface RunOptions {
  driver: Driver;
  backend: Backend;
  rps: number;
  /** How the traffic's client retries an order that got no answer, a 429 or a 5xx. */
  retry: RetryPolicy;
  warmupMs: number;
  cooldownMs: number;
  log: (line: string) => void;
}

/** The demo shop's traffic, as a v1 suite implies it (until the runner takes the suite's own). */
export const DEMO_TRAFFIC: RequestSpec[] = [
  {
    target: 'order-service',
    method: 'POST',
    path: '/orders',
    body: {
      product_id: '{{pick PROD-001 PROD-002 PROD-003 PROD-004 PROD-005}}',
      quantity: 1,
      email: 'chaos@example.com',
    },
    success: [201],
    idempotencyHeader: 'Idempotency-Key',
    readBack: { path: '/orders/{{response.id}}', expect: "status = 'confirmed'" },
  },
];

export const experimentName = (spec: ExperimentSpec) => spec.name ?? `${spec.type} ${spec.service}`;

const EMPTY_PHASES: Phases = {
  faultEndedMs: 0,
  firstFailureMs: null,
  breakerOpenedMs: null,
  breakerClosedMs: null,
  terminatedMs: null,
  capacityRestoredMs: null,
  errorsEndedMs: null,
  latencyNormalMs: null,
  userFacingMs: null,
};

export async function runExperiment(spec: ExperimentSpec, opts: RunOptions): Promise<ExperimentResult> {
  const { driver, backend, log } = opts;
  const fault = faultOf(spec);
  const target = targetOf(spec);
  const startedAt = Date.now();
  const events: ExperimentResult['events'] = [];
  const event = (text: string, at = Date.now()) => {
    events.push({ at: new Date(at).toISOString(), event: text });
    log(text);
  };
  const given = { ...DEFAULT_THRESHOLDS, ...spec.thresholds };
  const limits = {
    recoverySlaMs: parseDuration(given.recoverySla),
    maxErrorRate: given.maxErrorRate,
    maxP95Ms: parseDuration(given.maxP95),
    integrity: given.integrity,
  };
  const result: ExperimentResult = {
    name: experimentName(spec),
    type: spec.type,
    service: spec.service,
    backend: backend.name,
    parameters: parametersOf(spec),
    status: 'error',
    warnings: [],
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: '',
    fault: {
      injectedAt: null,
      removedAt: null,
      verified: false,
      evidence: '',
      summary: fault.describe(),
    },
    recovery: { ...EMPTY_PHASES, totalMs: null },
    traffic: {
      rps: opts.rps,
      retry: opts.retry,
      before: windowStats([]),
      during: windowStats([]),
      after: windowStats([]),
      replicas: { totals: {}, beforeShare: {}, series: [] },
    },
    integrity: null,
    thresholds: [],
    timeline: [],
    events,
  };

  let breakers: BreakerWatch | undefined;
  let remove: (() => Promise<void>) | undefined;
  let stopLoad: (() => Promise<void>) | undefined;
  try {
    const injection = await backend.injection(spec);
    await steadyState(driver, target);
    event('steady state: every workload at its desired capacity');
    result.warnings = [...(await driver.preflight(target)), ...(await singleReplica(spec, target, driver))];
    result.warnings.push(...(await injection.preflight()));
    for (const warning of result.warnings) event(`warning: ${warning}`);

    const [orderUrl, inventoryUrl] = await Promise.all([
      driver.url('order-service'),
      driver.url('inventory-service'),
    ]);
    const stockBefore = await stockTotals(inventoryUrl);
    const load = new LoadGenerator({
      requests: DEMO_TRAFFIC,
      urlOf: { 'order-service': orderUrl },
      rps: opts.rps,
      retry: opts.retry,
    });
    stopLoad = track('stopped the traffic to order-service', async () => {
      await load.stop();
    });
    const trafficFrom = Date.now();
    load.start();
    breakers = new BreakerWatch(orderUrl);
    breakers.start();
    event(
      `traffic: ${opts.rps} orders/s${opts.retry.retries > 0 ? `, ${describeRetry(opts.retry, 'Idempotency-Key')}` : ''}`,
    );
    const baselineFrom = await warmUp(load.samples, trafficFrom);
    event(`warmed up in ${formatMs(baselineFrom - trafficFrom)}: the baseline starts`, baselineFrom);
    await sleep(opts.warmupMs);

    const before = await driver.replicas(target);
    // Registered before injection: Ctrl-C, an error or a timeout mid-injection still takes it back.
    remove = track(`removed the ${spec.type} (${fault.describe()})`, () => injection.remove());
    const injectedAt = Date.now();
    const injected = await injection.inject();
    result.fault.injectedAt = new Date(injectedAt).toISOString();
    result.fault.summary = injected.summary;
    event(`fault: ${injected.summary}`, injectedAt);

    const verification = await injection.verify();
    Object.assign(result.fault, { verified: verification.landed, evidence: verification.evidence });
    event(`${verification.landed ? 'landed' : 'did NOT land'}: ${verification.evidence}`);

    let endedAt: number;
    const milestones: Parameters<typeof phases>[4] = {};
    if (fault.kind === 'timed') {
      await sleep(Math.max(0, injectedAt + fault.durationMs() - Date.now()));
      await remove();
      endedAt = Date.now();
      event('fault removed', endedAt);
    } else {
      Object.assign(
        milestones,
        await settle(
          driver,
          target,
          injected.victims ?? [],
          before,
          injectedAt + limits.recoverySlaMs + 10_000,
          event,
          injectedAt,
        ),
      );
      await remove();
      endedAt = milestones.capacityRestoredAt ?? Date.now();
    }
    result.fault.removedAt = new Date(endedAt).toISOString();

    await sleep(opts.cooldownMs);
    // stop() is idempotent: the tracked stop only forgets the traffic once its samples are in.
    const samples = await load.stop();
    await stopLoad();
    breakers.stop();
    if ((breakers.openedAt ?? 0) >= injectedAt) {
      milestones.breakerOpenedAt = breakers.openedAt;
      milestones.breakerClosedAt = breakers.closedAt;
    }
    event(`traffic stopped: ${samples.length} requests`);

    const windows = attribute(samples, injectedAt, endedAt, baselineFrom);
    result.traffic = {
      rps: opts.rps,
      retry: opts.retry,
      warmup: windowStats(windows.warmup),
      before: windowStats(windows.before),
      beforeP95BySecondMs: timeline(windows.before, baselineFrom, 1000).map((second) => second.p95Ms),
      during: windowStats(windows.during),
      after: windowStats(windows.after),
      replicas: replicaTraffic(samples, windows.before, startedAt, 1000),
    };
    // 100 ms buckets: a kill's dip and a breaker's second are visible.
    result.timeline = timeline(samples, startedAt, 100);
    const measured = phases(
      fault.kind,
      samples,
      injectedAt,
      fault.kind === 'timed' ? endedAt : injectedAt,
      milestones,
    );
    const afterRemoval =
      measured.userFacingMs === null ? null : Math.max(0, measured.userFacingMs - measured.faultEndedMs);
    result.recovery = {
      ...measured,
      totalMs:
        fault.kind === 'timed'
          ? afterRemoval
          : measured.capacityRestoredMs === null || measured.userFacingMs === null
            ? null
            : Math.max(measured.capacityRestoredMs, measured.userFacingMs),
    };

    const readBack = await checkReadBack(samples, DEMO_TRAFFIC);
    const stockAfter = await stockTotals(inventoryUrl);
    const stockConserved = Object.entries(stockBefore).every(
      ([product, total]) => stockAfter[product] === total,
    );
    result.integrity = {
      ...readBack,
      stockBefore,
      stockAfter,
      stockConserved,
      passed: readBack.passed && stockConserved,
    };
    event(
      `integrity: ${result.integrity.readBack}/${result.integrity.acknowledged} acknowledged orders read back, stock ${result.integrity.stockConserved ? 'conserved' : 'NOT conserved'}`,
    );

    result.thresholds = [
      ...(fault.kind === 'disruption'
        ? [threshold('capacity-restored', limits.recoverySlaMs, result.recovery.capacityRestoredMs, 'ms')]
        : []),
      threshold(
        'user-facing-recovery',
        limits.recoverySlaMs,
        fault.kind === 'timed' ? afterRemoval : result.recovery.userFacingMs,
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
    result.status = error instanceof UnsupportedFaultError ? 'skipped' : 'error';
    result.error = (error as Error).message;
    event(`${result.status}: ${result.error}`);
  } finally {
    await remove?.().catch((error: Error) => event(`error: removing the fault failed: ${error.message}`));
    await stopLoad?.();
    breakers?.stop();
    result.finishedAt = new Date().toISOString();
  }
  return result;
}

/**
 * A disruption heals when every victim is gone (terminated, or restarted in place as a new
 * incarnation) and capacity is back: the workload's
 * desired replicas available, terminating ones and the victims themselves not counted. Either may
 * come first (a Deployment's successor is usually ready while its predecessor still terminates).
 */
async function settle(
  driver: Driver,
  target: Target,
  victims: readonly Replica[],
  before: readonly Replica[],
  deadline: number,
  event: (text: string, at?: number) => void,
  injectedAt: number,
): Promise<{ terminatedAt?: number; capacityRestoredAt?: number }> {
  // An incarnation: a replica restarted in place (a container restart) is a new one under the same id.
  const incarnation = (r: Replica) => `${r.id}#${r.restarts}`;
  const victimIds = new Set(victims.map(incarnation));
  const seen: { terminatedAt?: number; capacityRestoredAt?: number } = {};
  await driver.waitFor(
    target,
    (replicas, capacity) => {
      const now = Date.now();
      if (seen.terminatedAt === undefined && !replicas.some((r) => victimIds.has(incarnation(r)))) {
        seen.terminatedAt = now;
        event(
          `terminated: ${victims.map((v) => v.name).join(', ')} gone after ${formatMs(now - injectedAt)}`,
          now,
        );
      }
      const available = replicas.filter(
        (r) => r.ready && !r.terminating && !victimIds.has(incarnation(r)),
      ).length;
      if (seen.capacityRestoredAt === undefined && available >= capacity.desired && capacity.desired > 0) {
        seen.capacityRestoredAt = now;
        const successors = replicas
          .filter((r) => r.ready && !before.some((b) => b.id === r.id))
          .map((r) => r.name);
        event(
          `capacity restored: ${available}/${capacity.desired} available after ${formatMs(now - injectedAt)}${successors.length ? ` (new: ${successors.join(', ')})` : ''}`,
          now,
        );
      }
      return seen.terminatedAt !== undefined && seen.capacityRestoredAt !== undefined;
    },
    deadline,
  );
  if (seen.capacityRestoredAt === undefined) event('capacity NOT restored in time');
  return seen;
}

/** Every platform service and the target at their desired capacity. */
async function steadyState(driver: Driver, target: Target): Promise<void> {
  const deadline = Date.now() + 30_000;
  const targets: Target[] = [
    ...SERVICE_NAMES.filter((s) => s !== target.service).map((service) => ({ service })),
    target,
  ];
  const ok = await Promise.all(
    targets.map((t) =>
      driver.waitFor(
        t,
        (replicas, capacity) =>
          capacity.desired > 0 && capacity.available >= capacity.desired && replicas.length > 0,
        deadline,
      ),
    ),
  );
  const missing = targets.filter((_, i) => !ok[i]).map((t) => t.service);
  if (missing.length)
    throw new Error(`steady state not reached in 30 s: ${missing.join(', ')} below desired capacity`);
}

async function singleReplica(spec: ExperimentSpec, target: Target, driver: Driver): Promise<string[]> {
  const replicas = await driver.replicas(target);
  return replicas.filter((r) => !r.terminating).length === 1
    ? [`${spec.service} has a single replica: any fault is an outage`]
    : [];
}

function threshold(
  name: ThresholdResult['name'],
  limit: number,
  measured: number | null,
  unit: 'ms' | 'ratio',
): ThresholdResult {
  const value = measured === null || !Number.isFinite(measured) ? -1 : measured;
  return { name, limit, measured: value, unit, passed: value >= 0 && value <= limit };
}

function parametersOf(spec: ExperimentSpec): Record<string, unknown> {
  const { name: _name, thresholds: _thresholds, type: _type, service: _service, ...rest } = spec;
  return rest;
}
