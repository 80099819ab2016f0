// The fault types, by name: the runner looks a spec's type up here.
import type { ExperimentSpec, FaultType } from '../experiments/spec.js';
import { cpuStress } from './cpu-stress.js';
import type { FaultModule } from './fault.js';
import { networkDelay } from './network-delay.js';
import { podKill } from './pod-kill.js';

const FAULTS: { [T in FaultType]: FaultModule<T> } = {
  'pod-kill': podKill,
  'network-delay': networkDelay,
  'cpu-stress': cpuStress,
};

/** The fault type of an experiment, bound to its spec. */
export function faultOf(spec: ExperimentSpec) {
  // Each module is typed for its own spec; the union is narrowed by spec.type.
  const module = FAULTS[spec.type] as FaultModule<typeof spec.type>;
  return {
    kind: module.kind,
    durationMs: () => module.durationMs(spec as never),
    describe: () => module.describe(spec as never),
  };
}
