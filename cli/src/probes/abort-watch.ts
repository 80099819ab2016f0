// The abort conditions (AWS FIS's stop conditions): while the fault is on, a probe failing too long,
// the traffic's error rate over a window, or a PromQL expression true too long stops the experiment.
// Checked every CHECK_MS; the first condition to hold fires once, and the watch stops.
import { parseDuration } from '../experiments/duration.js';
import type { AbortSpec } from '../suite/schema.js';
import type { Hypothesis } from './hypothesis.js';
import { instantQuery } from './promql-probe.js';

export const CHECK_MS = 250;
const DEFAULT_WINDOW_MS = 5000;
/**
 * An error rate needs this many requests completed in its window before it can fire: with fewer,
 * one unlucky request moves the rate by more than 10 points (1 failure of 2 is 50%), and a slow
 * trickle of traffic would abort on noise rather than on harm.
 */
export const MIN_SAMPLES = 10;
/** A PromQL condition's query waits at most this long: Prometheus answers in milliseconds or is in trouble. */
const QUERY_TIMEOUT_MS = 2000;

export interface TrafficSample {
  completedAt: number;
  ok: boolean;
}

export interface AbortReason {
  /** The condition's name, or one made from it such as "error rate > 0.5 over 5s". */
  condition: string;
  detail: string;
}

export interface AbortWatchOptions {
  hypothesis: Hypothesis;
  /** The traffic's samples so far; read as append-only (each check reads only what was added since). */
  errors: () => ReadonlyArray<TrafficSample>;
  onAbort: (reason: AbortReason) => void;
  log?: (line: string) => void;
}

interface Watched {
  name: string;
  /** Why it holds now, or undefined when it does not. */
  check(now: number): string | undefined;
}

const durationText = (value: string | number | undefined, fallback: string) =>
  value === undefined ? fallback : typeof value === 'number' ? `${value}ms` : value;

export class AbortWatch {
  private firedAs: (AbortReason & { at: number }) | undefined;
  private readonly watched: Watched[];
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    conditions: readonly AbortSpec[],
    private readonly opts: AbortWatchOptions,
  ) {
    this.log = opts.log ?? (() => {});
    this.watched = conditions.map((c, i) => this.watch(c, `abort[${i}]`));
  }

  /** The condition that stopped the experiment, once one has. */
  get fired(): (AbortReason & { at: number }) | undefined {
    return this.firedAs;
  }

  start(): void {
    if (this.timer || this.firedAs) return;
    this.timer = setInterval(() => this.check(), CHECK_MS);
    // The runner's own timers carry the experiment; the watch must not keep a finished CLI alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.watched) {
      const detail = w.check(now);
      if (detail === undefined) continue;
      this.stop();
      this.firedAs = { condition: w.name, detail, at: now };
      this.log(`abort: ${w.name}: ${detail}`);
      this.opts.onAbort({ condition: w.name, detail });
      return;
    }
  }

  private watch(c: AbortSpec, field: string): Watched {
    if ('probe' in c) {
      const forMs = c.for === undefined ? 0 : parseDuration(c.for, `${field}.for`);
      const name = c.name ?? `probe ${c.probe} failing${forMs ? ` for ${durationText(c.for, '')}` : ''}`;
      return {
        name,
        check: (now) => {
          const since = this.opts.hypothesis.failingSince(c.probe);
          if (since === undefined || now - since < forMs) return undefined;
          const latest = this.opts.hypothesis.latest(c.probe);
          return `failing for ${now - since} ms: ${latest?.detail ?? 'no sample'}`;
        },
      };
    }
    if ('errorRate' in c) {
      const windowMs =
        c.window === undefined ? DEFAULT_WINDOW_MS : parseDuration(c.window, `${field}.window`);
      return this.errorRate(
        c.name ?? `error rate > ${c.errorRate} over ${durationText(c.window, '5s')}`,
        c.errorRate,
        windowMs,
      );
    }
    const forMs = c.for === undefined ? 0 : parseDuration(c.for, `${field}.for`);
    return this.promql(
      c.name ?? `promql ${c.promql.query}${forMs ? ` for ${durationText(c.for, '')}` : ''}`,
      c.promql,
      forMs,
    );
  }

  private errorRate(name: string, threshold: number, windowMs: number): Watched {
    // Only the samples that may still be in the window are kept; new ones are read from `seen` on.
    let inWindow: TrafficSample[] = [];
    let seen = 0;
    return {
      name,
      check: (now) => {
        const all = this.opts.errors();
        if (all.length < seen) seen = 0;
        const start = now - windowMs;
        inWindow = inWindow
          .concat(all.slice(seen))
          .filter((s) => s.completedAt >= start && s.completedAt <= now);
        seen = all.length;
        if (inWindow.length < MIN_SAMPLES) return undefined;
        const failed = inWindow.filter((s) => !s.ok).length;
        const rate = failed / inWindow.length;
        return rate > threshold
          ? `${failed} of ${inWindow.length} requests failed in the last ${windowMs} ms (${(rate * 100).toFixed(1)}%)`
          : undefined;
      },
    };
  }

  private promql(name: string, spec: { url: string; query: string }, forMs: number): Watched {
    // The query runs on its own loop, never overlapping itself; the check reads its last answer.
    let trueSince: number | undefined;
    let lastDetail = '';
    let warned = false;
    let querying = false;
    const query = async () => {
      querying = true;
      try {
        const result = await instantQuery(spec.url, spec.query, QUERY_TIMEOUT_MS);
        // NaN is no evidence of harm (a ratio over no traffic is 0/0), so only real non-zero values count.
        const hot =
          result.type === 'scalar'
            ? result.value !== 0 && !Number.isNaN(result.value)
              ? [`scalar ${result.value}`]
              : []
            : result.samples
                .filter((s) => s.value !== 0 && !Number.isNaN(s.value))
                .map((s) => `${s.series} ${s.value}`);
        if (hot.length === 0) trueSince = undefined;
        else {
          trueSince ??= Date.now();
          lastDetail = hot.slice(0, 3).join('; ') + (hot.length > 3 ? `; and ${hot.length - 3} more` : '');
        }
      } catch (err) {
        // No answer is no evidence: the experiment goes on, and the streak starts again.
        trueSince = undefined;
        if (!warned)
          this.log(`warning: abort condition "${name}" cannot be checked: ${(err as Error).message}`);
        warned = true;
      } finally {
        querying = false;
      }
    };
    return {
      name,
      check: (now) => {
        if (!querying) void query();
        if (trueSince === undefined || now - trueSince < forMs) return undefined;
        return `true for ${now - trueSince} ms: ${lastDetail}`;
      },
    };
  }
}
