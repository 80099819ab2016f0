// What a fault is, in one place per fault (faults/<name>/index.ts, listed in faults/registry.ts):
// its part of the experiment schema and its flags, what it does, what recovery means for it, and
// the backends (local processes, Kubernetes native, Chaos Mesh) that can carry it out, each loaded
// only when a run uses it. The runner knows faults only through this and the Injection.
import type { Command } from 'commander';
import type { Static, TObject } from 'typebox';
import type { Replica } from '../drivers/driver.js';
import type { KubernetesDriver } from '../drivers/kubernetes/kubernetes-driver.js';
import type { LocalDriver } from '../drivers/local/local-driver.js';

export interface Verification {
  /** The fault was seen to act on the target (an observed effect, not the injector's word). */
  landed: boolean;
  evidence: string;
}

export interface Injected {
  /** One line for the report and the log: what was hit. */
  summary: string;
  /** The replicas a disruption took down, followed until they are replaced (or restarted in place). */
  victims?: Replica[];
}

/** What the run itself observes, for a fault that can verify itself by what users feel. */
export interface Observed {
  /**
   * The suite's own requests through their entry point: median latency in the baseline and over the
   * first seconds of the fault. Absent when the suite declares no traffic.
   */
  trafficLatency?: () => Promise<{ beforeMs: number; duringMs: number; requests: number }>;
}

/** One experiment's fault as a backend carries it out. */
export interface Injection {
  /** What it will touch (pods, processes, objects it creates), for --dry-run. Changes nothing. */
  plan(): Promise<string>;
  /** Before any traffic: throws (one line naming the reason and the fix) when the fault cannot land; returns warnings. */
  preflight(): Promise<string[]>;
  /** Breaks the target; resolves once the fault is in force. */
  inject(): Promise<Injected>;
  /** An observed effect on the target, checked once the fault is in force. */
  verify(observed?: Observed): Promise<Verification>;
  /** Takes the fault back and waits until it is gone. Idempotent, safe before inject: it is registered for Ctrl-C before inject runs. */
  remove(): Promise<void>;
}

export const BACKEND_NAMES = ['local', 'kubernetes', 'chaos-mesh'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a backend's run gives a fault's implementation beside the driver. */
export interface BackendOptions {
  /** The native Kubernetes backend's network-delay agent image (--netem-image). */
  agentImage?: string;
}

/** The driver each backend acts through. */
interface Drivers {
  local: LocalDriver;
  kubernetes: KubernetesDriver;
  'chaos-mesh': KubernetesDriver;
}

/** A fault as one backend carries it out: a line for the docs' table, and the code, loaded on use. */
export interface Implementation<B extends BackendName, Spec> {
  how: string;
  /** The Chaos Mesh kind it creates, if any: the backend is chosen only where its CRD is served. */
  chaosMesh?: string;
  load(): Promise<(driver: Drivers[B], spec: Spec, options: BackendOptions) => Injection>;
}

export interface Fault<Name extends string = string, Schema extends TObject = TObject> {
  readonly name: Name;
  /** One line: the command's description. */
  readonly summary: string;
  /** Its experiment schema: `type` is its name; the common fields come from experiments/fields.ts. */
  readonly schema: Schema;
  /**
   * `timed`: in force for its duration, then removed; recovery is measured from its removal.
   * `disruption`: instantaneous (replicas die); recovery is the platform's own, from injection:
   * the victims gone (or restarted), capacity back and users served as before.
   */
  readonly kind: 'timed' | 'disruption';
  /** What recovery means for it, for the docs. */
  readonly recovery: string;
  /** Its own flags, on its command (the target, the thresholds and the run's options are common). */
  flags(command: Command): Command;
  /** Its own spec fields from those flags, as given: the schema judges them. */
  fromFlags(flags: Record<string, unknown>): Partial<Static<Schema>>;
  durationMs(spec: Static<Schema>): number;
  describe(spec: Static<Schema>): string;
  /** Refuses before anything runs (one line), knowing how many replicas are ready. */
  admit?(spec: Static<Schema>, ready: number, allowOutage: boolean): string | undefined;
  readonly backends: { [B in BackendName]?: Implementation<B, Static<Schema>> };
}

/**
 * A fault's backends, from each one's line for the docs' table (with the Chaos Mesh kind it creates,
 * if any) and `load`, which imports the fault's module for each backend, so that a run loads the
 * code of the backend it uses and no other. Each import is named, not `./${backend}.js`: a bundler
 * makes every file such a template could match a chunk of its own (scripts/bundle-cli.mjs).
 */
export function backends<Spec, B extends BackendName>(
  lines: { [K in B]: string | { how: string; chaosMesh: string } },
  load: { [K in B]: () => Promise<unknown> },
): { [K in BackendName]?: Implementation<K, Spec> } {
  return Object.fromEntries(
    (Object.entries(lines) as Array<[B, string | { how: string; chaosMesh: string }]>).map(
      ([backend, line]) => [
        backend,
        {
          ...(typeof line === 'string' ? { how: line } : line),
          load: async () => ((await load[backend]()) as { injection: never }).injection,
        },
      ],
    ),
  );
}

/** A fault, typed by its schema (an identity: the types flow from the schema to every part). */
export const defineFault = <Name extends string, Schema extends TObject>(fault: Fault<Name, Schema>) => fault;
