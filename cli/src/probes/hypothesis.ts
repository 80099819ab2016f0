// The steady-state hypothesis: the suite's probes, checked before the fault, sampled while it is on
// and polled after it until they all hold again (Chaos Toolkit's hypothesis, Litmus's probe modes).
import type { ProbePhase, ProbeSpec } from '../suite/schema.js';
import { type DeclaredProbe, probesOf } from './check.js';
import type { UrlOf } from './http-probe.js';
import type { ProbeResult } from './probe.js';

/**
 * The shortest time between two rounds of after-probes: a probe that fails at once (connection
 * refused) would otherwise be sent in a tight loop against a service that is trying to recover.
 */
export const AFTER_POLL_MS = 250;

export interface HypothesisOptions {
  urlOf: UrlOf;
  log?: (line: string) => void;
}

export class Hypothesis {
  private readonly declared: DeclaredProbe[];
  private readonly log: (line: string) => void;
  private readonly beforeValues = new Map<string, { value: unknown }>();
  private readonly latestResults = new Map<string, ProbeResult>();
  private readonly failingFrom = new Map<string, number>();
  private duringResults: ProbeResult[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private sampling = false;

  /** Throws a UsageError naming the field when a probe is malformed (see checkProbes). */
  constructor(probes: readonly ProbeSpec[], opts: HypothesisOptions) {
    this.declared = probesOf(probes, opts.urlOf);
    this.log = opts.log ?? (() => {});
  }

  /** Every probe whose `when` includes before, once, all at the same time; records values for unchanged. */
  async before(): Promise<ProbeResult[]> {
    const results = await Promise.all(this.in('before').map((d) => this.sample(d, 'before')));
    for (const r of results) {
      if (r.ok && r.value !== undefined) this.beforeValues.set(r.name, { value: r.value });
      if (!r.ok) this.log(`probe ${r.name} failed before the fault: ${r.detail}`);
    }
    return results;
  }

  /**
   * Samples every during-probe every `every`, each probe on its own schedule and never overlapping
   * itself: a sample slower than `every` delays the next one instead of piling up requests.
   */
  startDuring(): void {
    if (this.sampling) return;
    this.sampling = true;
    this.duringResults = [];
    this.failingFrom.clear();
    for (const d of this.in('during')) {
      const tick = async () => {
        const started = Date.now();
        const run = this.sample(d, 'during');
        this.inFlight.add(run);
        const result = await run.finally(() => this.inFlight.delete(run));
        if (!this.sampling) return;
        this.duringResults.push(result);
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            void tick();
          },
          Math.max(0, started + d.everyMs - Date.now()),
        );
        // The runner's own timers carry the experiment; sampling must not keep a finished CLI alive.
        timer.unref();
        this.timers.add(timer);
      };
      void tick();
    }
  }

  /** Stops sampling, waits for samples in flight, and returns every during-sample in the order taken. */
  async stopDuring(): Promise<ProbeResult[]> {
    const taken = [...this.duringResults];
    this.sampling = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    // A sample in flight is dropped rather than awaited into the list: the fault may already be gone.
    await Promise.allSettled([...this.inFlight]);
    return taken.sort((a, b) => a.at - b.at);
  }

  /**
   * Polls every after-probe in rounds (all at once, a round at most every AFTER_POLL_MS) until one
   * round where all pass, or until a round that ends at or after `deadline` (epoch ms): at least one
   * round runs, and the last one starts at the deadline at the latest. `results` is the last round's;
   * `heldAt` when that passing round was sent, or null when none passed in time. A round runs to its
   * end (each probe bounded by its own timeout), so this may return up to one timeout past the deadline.
   */
  async after(
    deadline: number,
    signal?: AbortSignal,
  ): Promise<{ results: ProbeResult[]; heldAt: number | null }> {
    const probes = this.in('after');
    for (;;) {
      const roundAt = Date.now();
      const results = await Promise.all(probes.map((d) => this.sample(d, 'after')));
      if (results.every((r) => r.ok)) return { results, heldAt: roundAt };
      // An aborted run stops polling at once: its verdict is the abort.
      if (Date.now() >= deadline || signal?.aborted) {
        for (const r of results.filter((r) => !r.ok))
          this.log(`probe ${r.name} still failing after the fault: ${r.detail}`);
        return { results, heldAt: null };
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(roundAt + AFTER_POLL_MS, deadline) - Date.now()),
      );
    }
  }

  /** The probe's most recent result, whatever the phase. */
  latest(name: string): ProbeResult | undefined {
    return this.latestResults.get(name);
  }

  /** When the probe's during-samples started failing without a pass since; undefined while passing. */
  failingSince(name: string): number | undefined {
    return this.failingFrom.get(name);
  }

  private in(phase: ProbePhase): DeclaredProbe[] {
    return this.declared.filter((d) => d.phases.includes(phase));
  }

  private async sample(d: DeclaredProbe, phase: ProbePhase): Promise<ProbeResult> {
    const at = Date.now();
    const reading = await d.probe.read(phase, this.beforeValues.get(d.probe.name));
    const result: ProbeResult = { name: d.probe.name, phase, at, ...reading };
    this.latestResults.set(result.name, result);
    if (phase === 'during') {
      const since = this.failingFrom.get(result.name);
      if (!result.ok && since === undefined) {
        this.failingFrom.set(result.name, at);
        this.log(`probe ${result.name} failing during the fault: ${result.detail}`);
      } else if (result.ok && since !== undefined) {
        this.failingFrom.delete(result.name);
        this.log(`probe ${result.name} passing again during the fault`);
      }
    }
    return result;
  }
}
