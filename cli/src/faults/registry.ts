// Every fault chaosctl knows, listed once. The commands, the experiment schema, each backend's
// faults, the Chaos Mesh kinds looked for, the report schema's enum and the docs' table all come
// from this list: a new fault is its folder and one line here.
import { containerKill } from './container-kill/index.js';
import { cpuStress } from './cpu-stress/index.js';
import { BACKEND_NAMES, type BackendName, type Fault } from './fault.js';
import { memoryStress } from './memory-stress/index.js';
import { networkDelay } from './network-delay/index.js';
import { podKill } from './pod-kill/index.js';

export const FAULTS = [podKill, networkDelay, cpuStress, containerKill, memoryStress] as const;

/** The fault of an experiment, with its functions bound to the spec. */
export function faultOf(spec: { type: string }) {
  // Each fault is typed for its own spec; spec.type says which one this is.
  const fault = faultNamed(spec.type);
  const own = spec as never;
  return {
    fault,
    kind: fault.kind,
    durationMs: () => fault.durationMs(own),
    describe: () => fault.describe(own),
    admit: (ready: number, allowOutage: boolean) => fault.admit?.(own, ready, allowOutage),
  };
}

export const faultNamed = (name: string) => FAULTS.find((f) => f.name === name) as unknown as Fault;

/** The backends that can carry a fault out, in the order chaosctl offers them. */
export const backendsOf = (fault: Fault): BackendName[] => BACKEND_NAMES.filter((b) => fault.backends[b]);

/** The Chaos Mesh kinds the faults create: the Chaos Mesh backend needs each one's CRD served. */
export const chaosMeshKinds = () => [
  ...new Set(FAULTS.flatMap((f) => f.backends['chaos-mesh']?.chaosMesh ?? [])),
];
