// Runs one experiment of a suite: steady state (every target at capacity), preflight, the suite's
// traffic and its baseline, the steady-state hypothesis (probes) before the fault, the fault
// (registered for removal before it is injected, then verified by an observed effect), abort
// conditions watched while it is on, recovery milestones, the probes again after it, read-back
// integrity, thresholds. The runner knows faults only through the fault-type module (faults/) and
// the backend's Injection (backends/), and the application only through the suite's data.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from '../backends/backend.js';
import { type Driver, type Replica, type Target, targetNamed } from '../drivers/driver.js';
import { UnsupportedFaultError } from '../errors.js';
import type { Observed } from '../faults/fault.js';
import { faultOf } from '../faults/registry.js';
import { AbortWatch } from '../probes/abort-watch.js';
import { Hypothesis } from '../probes/hypothesis.js';
import type { Suite } from '../suite/load.js';
import { describeRetry, LoadGenerator, type RetryPolicy, type Sample } from '../traffic/load.js';
import { checkReadBack } from '../traffic/read-back.js';
import { replicaTraffic, timeline, windowStats } from '../traffic/stats.js';
import { warmUp } from '../traffic/warmup.js';
import { BreakerWatch } from './breaker-watch.js';
import { track } from './cleanup.js';
import { formatMs, parseDuration } from './duration.js';
import { DEFAULT_THRESHOLDS } from './fields.js';
import { attribute, type Phases, phases } from './recovery.js';
import { type ExperimentResult, experimentName, type ThresholdResult } from './result.js';
import type { ExperimentSpec } from './spec.js';

/** The traffic of a run, its settings resolved (suite values, flags over them). */
export interface TrafficPlan {
  rps: number;
  retry: RetryPolicy;
  warmupMs: number;
  cooldownMs: number;
  timeoutMs: number;
}

export interface RunOptions {
  driver: Driver;
  backend: Backend;
  suite: Suite;
  /** Timing of the run; rps and retries only matter when the suite declares traffic. */
  traffic: TrafficPlan;
  log: (line: string) => void;
}

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
  steadyStateMs: null,
};

/** Thrown inside the run when an abort condition fires: the fault is removed by the finally. */
class Aborted extends Error {}

export async function runExperiment(spec: ExperimentSpec, opts: RunOptions): Promise<ExperimentResult> {
  const { driver, backend, log, suite } = opts;
  const fault = faultOf(spec);
  const target = targetNamed(suite.targets, spec.service);
  const requests = suite.traffic?.requests ?? [];
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
      rps: requests.length ? opts.traffic.rps : 0,
      retry: opts.traffic.retry,
      before: windowStats([]),
      during: windowStats([]),
      after: windowStats([]),
      replicas: { totals: {}, beforeShare: {}, series: [] },
    },
    integrity: null,
    probes: { before: [], during: [], after: [] },
    thresholds: [],
    timeline: [],
    events,
  };

  // An abort condition firing ends every wait at once.
  const aborting = new AbortController();
  const abortable = <T>(work: Promise<T>): Promise<T> =>
    Promise.race([
      work,
      new Promise<never>((_, reject) => {
        const fire = () => reject(new Aborted(result.abort?.condition ?? 'abort'));
        if (aborting.signal.aborted) fire();
        else aborting.signal.addEventListener('abort', fire, { once: true });
      }),
    ]);
  // A wait the abort ends, its timer cleared with it (a pending timer would hold the process open).
  const pause = (ms: number) =>
    sleep(Math.max(0, ms), undefined, { signal: aborting.signal }).catch((error: Error) => {
      throw aborting.signal.aborted ? new Aborted(result.abort?.condition ?? 'abort') : error;
    });

  let breakers: BreakerWatch | undefined;
  let remove: (() => Promise<void>) | undefined;
  let stopLoad: (() => Promise<void>) | undefined;
  let load: LoadGenerator | undefined;
  let watch: AbortWatch | undefined;
  let sampling = false;
  const urls = new Map<string, Promise<string>>();
  const urlOf = (name: string) => {
    if (!urls.has(name)) urls.set(name, driver.url(targetNamed(suite.targets, name)));
    return urls.get(name) as Promise<string>;
  };
  const hypothesis = new Hypothesis(suite.probes, { urlOf, log: (line) => event(line) });
  try {
    const injection = await backend.injection(spec);
    await steadyState(driver, suite);
    event(`steady state: every target at its desired capacity`);
    result.warnings = [...(await driver.preflight(target)), ...(await singleReplica(spec, target, driver))];
    result.warnings.push(...(await injection.preflight()));
    if (!requests.length)
      result.warnings.push(
        'the suite declares no traffic: only capacity is measured (no errors, latency, user-facing recovery or read-back)',
      );
    for (const warning of result.warnings) event(`warning: ${warning}`);

    const trafficFrom = Date.now();
    let baselineFrom = trafficFrom;
    if (requests.length) {
      const entries = [...new Set(requests.flatMap((r) => [r.target, r.readBack?.target ?? r.target]))];
      const urlOfTarget = Object.fromEntries(
        await Promise.all(entries.map(async (name) => [name, await urlOf(name)] as const)),
      );
      const generator = new LoadGenerator({
        requests,
        urlOf: urlOfTarget,
        rps: opts.traffic.rps,
        retry: opts.traffic.retry,
        timeoutMs: opts.traffic.timeoutMs,
      });
      load = generator;
      stopLoad = track(`stopped the traffic to ${entries.join(', ')}`, async () => {
        await generator.stop();
      });
      generator.start();
      // Where the traffic enters: services that expose circuit_breaker_state show their breakers.
      breakers = new BreakerWatch(urlOfTarget[requests[0]?.target as string] as string);
      breakers.start();
      event(
        `traffic: ${opts.traffic.rps} requests/s${opts.traffic.retry.retries > 0 ? `, ${describeRetry(opts.traffic.retry, requests.find((r) => r.idempotencyHeader)?.idempotencyHeader)}` : ''}`,
      );
      baselineFrom = await warmUp(generator.samples, trafficFrom);
      event(`warmed up in ${formatMs(baselineFrom - trafficFrom)}: the baseline starts`, baselineFrom);
    }
    await sleep(opts.traffic.warmupMs);

    // The steady-state hypothesis before the fault: no fault is injected when it does not hold.
    result.probes.before = await hypothesis.before();
    const broken = result.probes.before.filter((p) => !p.ok);
    if (broken.length) {
      result.status = 'fail';
      result.error = `the steady-state hypothesis did not hold before the fault, so none was injected: ${broken.map((p) => `${p.name}: ${p.detail}`).join('; ')}`;
      event(result.error);
      return result;
    }
    if (result.probes.before.length)
      event(`steady-state hypothesis holds: ${result.probes.before.length} probe(s)`);

    const before = await driver.replicas(target);
    // Registered before injection: Ctrl-C, an error or a timeout mid-injection still takes it back.
    remove = track(`removed the ${spec.type} (${fault.describe()})`, () => injection.remove());
    const injectedAt = Date.now();
    watch = new AbortWatch(suite.abort, {
      hypothesis,
      errors: () => load?.samples ?? [],
      onAbort: (reason) => {
        result.abort = { ...reason, at: new Date().toISOString() };
        event(`ABORT: ${reason.condition}: ${reason.detail}`);
        aborting.abort();
      },
      log: (line) => event(line),
    });
    hypothesis.startDuring();
    sampling = true;
    watch.start();
    const injected = await abortable(injection.inject());
    result.fault.injectedAt = new Date(injectedAt).toISOString();
    result.fault.summary = injected.summary;
    event(`fault: ${injected.summary}`, injectedAt);

    const traffic = load;
    const observed: Observed = traffic
      ? { trafficLatency: () => feltLatency(traffic.samples, baselineFrom, injectedAt) }
      : {};
    const verification = await abortable(injection.verify(observed));
    Object.assign(result.fault, { verified: verification.landed, evidence: verification.evidence });
    event(`${verification.landed ? 'landed' : 'did NOT land'}: ${verification.evidence}`);

    let endedAt: number;
    const milestones: Parameters<typeof phases>[4] = {};
    // A disruption is over once injected: its probes must hold again from then on, while the
    // platform heals; a timed fault's once it is removed.
    const heldAfterDisruption =
      fault.kind === 'disruption'
        ? hypothesis.after(injectedAt + limits.recoverySlaMs + 10_000, aborting.signal)
        : undefined;
    if (fault.kind === 'timed') {
      await pause(injectedAt + fault.durationMs() - Date.now());
      await remove();
      endedAt = Date.now();
      event('fault removed', endedAt);
    } else {
      Object.assign(
        milestones,
        await abortable(
          settle(
            driver,
            target,
            injected.victims ?? [],
            before,
            injectedAt + limits.recoverySlaMs + 10_000,
            event,
            injectedAt,
          ),
        ),
      );
      await remove();
      endedAt = milestones.capacityRestoredAt ?? Date.now();
    }
    result.fault.removedAt = new Date(endedAt).toISOString();
    watch.stop();
    sampling = false;
    result.probes.during = summariseDuring(await hypothesis.stopDuring());

    // The probes must hold again within the recovery SLA, while the cool-down's traffic flows.
    const [held] = await Promise.all([
      // Polled past the SLA (as capacity is awaited), so that a slow recovery is measured, not only failed.
      heldAfterDisruption ?? hypothesis.after(endedAt + limits.recoverySlaMs + 10_000, aborting.signal),
      sleep(opts.traffic.cooldownMs),
    ]);
    result.probes.after = held.results;
    if (held.heldAt !== null) milestones.steadyStateAt = held.heldAt;
    else if (held.results.length) event('the steady-state hypothesis did NOT hold again');

    // stop() is idempotent: the tracked stop only forgets the traffic once its samples are in.
    const samples: Sample[] = load ? await load.stop() : [];
    await stopLoad?.();
    breakers?.stop();
    if (breakers && (breakers.openedAt ?? 0) >= injectedAt) {
      milestones.breakerOpenedAt = breakers.openedAt;
      milestones.breakerClosedAt = breakers.closedAt;
    }
    if (load) event(`traffic stopped: ${samples.length} requests`);

    const windows = attribute(samples, injectedAt, endedAt, baselineFrom);
    result.traffic = {
      ...result.traffic,
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
    const declared = requests.length > 0;
    const probed = result.probes.after.length > 0;
    // What the SLA gates: every measured phase of recovery, each from when it could start.
    const afterRemoval = (ms: number | null) =>
      ms === null ? null : Math.max(0, ms - measured.faultEndedMs);
    const gated =
      fault.kind === 'timed'
        ? [
            declared ? afterRemoval(measured.userFacingMs) : 0,
            probed ? afterRemoval(measured.steadyStateMs) : 0,
          ]
        : [
            measured.capacityRestoredMs,
            declared ? measured.userFacingMs : 0,
            probed ? measured.steadyStateMs : 0,
          ];
    result.recovery = {
      ...measured,
      totalMs: gated.some((ms) => ms === null) ? null : Math.max(...(gated as number[])),
    };

    if (requests.some((r) => r.readBack)) {
      result.integrity = await checkReadBack(samples, requests);
      event(
        `integrity: ${result.integrity.readBack}/${result.integrity.acknowledged} acknowledged requests read back`,
      );
    }

    result.thresholds = [
      ...(fault.kind === 'disruption'
        ? [threshold('capacity-restored', limits.recoverySlaMs, result.recovery.capacityRestoredMs, 'ms')]
        : []),
      ...(declared
        ? [
            threshold(
              'user-facing-recovery',
              limits.recoverySlaMs,
              fault.kind === 'timed' ? afterRemoval(measured.userFacingMs) : result.recovery.userFacingMs,
              'ms',
            ),
            threshold('error-rate', limits.maxErrorRate, result.traffic.during.errorRate, 'ratio'),
            threshold('p95-latency', limits.maxP95Ms, result.traffic.during.p95Ms, 'ms'),
          ]
        : []),
      ...(probed
        ? [
            threshold(
              'steady-state',
              limits.recoverySlaMs,
              fault.kind === 'timed' ? afterRemoval(measured.steadyStateMs) : measured.steadyStateMs,
              'ms',
            ),
          ]
        : []),
      ...(limits.integrity && result.integrity
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
    if (error instanceof Aborted && result.abort) {
      result.status = 'aborted';
      result.error = `aborted by ${result.abort.condition}: ${result.abort.detail}`;
    } else {
      result.status = error instanceof UnsupportedFaultError ? 'skipped' : 'error';
      result.error = (error as Error).message;
      event(`${result.status}: ${result.error}`);
    }
  } finally {
    watch?.stop();
    await remove?.().catch((error: Error) => event(`error: removing the fault failed: ${error.message}`));
    if (result.status === 'aborted') event('fault removed after the abort');
    if (sampling) result.probes.during = summariseDuring(await hypothesis.stopDuring());
    await stopLoad?.();
    breakers?.stop();
    result.finishedAt = new Date().toISOString();
  }
  return result;
}

/**
 * What the suite's requests felt of a fault: their median latency in the baseline and over the first
 * seconds after the injection (until 20 have answered, at most 5 s), for faults verified by it.
 */
async function feltLatency(samples: readonly Sample[], baselineFrom: number, injectedAt: number) {
  const since = () => samples.filter((s) => s.dueAt >= injectedAt);
  for (let waited = 0; since().length < 20 && waited < 5000 && Date.now() < injectedAt + 5000; waited += 100)
    await sleep(100);
  const before = samples.filter((s) => s.dueAt >= baselineFrom && s.completedAt < injectedAt);
  const during = since();
  return {
    beforeMs: windowStats(before).p50Ms,
    duringMs: windowStats(during).p50Ms,
    requests: during.length,
  };
}

/** The samples of each probe while the fault was on, summed up: how many, how many failed, the first failure. */
function summariseDuring(
  results: Awaited<ReturnType<Hypothesis['stopDuring']>>,
): ExperimentResult['probes']['during'] {
  const byName = new Map<string, ExperimentResult['probes']['during'][number]>();
  for (const r of results) {
    const entry = byName.get(r.name) ?? { name: r.name, samples: 0, failed: 0 };
    entry.samples++;
    if (!r.ok) {
      entry.failed++;
      entry.firstFailure ??= r.detail;
    }
    byName.set(r.name, entry);
  }
  return [...byName.values()];
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

/** Every target of the suite at its desired capacity. */
async function steadyState(driver: Driver, suite: Suite): Promise<void> {
  const deadline = Date.now() + 30_000;
  const names = Object.keys(suite.targets);
  const ok = await Promise.all(
    names.map((name) =>
      driver.waitFor(
        targetNamed(suite.targets, name),
        (replicas, capacity) =>
          capacity.desired > 0 && capacity.available >= capacity.desired && replicas.length > 0,
        deadline,
      ),
    ),
  );
  const missing = names.filter((_, i) => !ok[i]);
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
