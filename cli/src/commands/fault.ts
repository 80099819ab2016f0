// One command per fault (chaosctl pod-kill, network-delay, ...), made from the fault's own flags:
// the target, the thresholds and the run's options are common.
import type { Fault } from '../faults/fault.js';
import { faultCommand, type TargetFlags, targetFrom } from './options.js';
import { type CommonOptions, runExperiments } from './run-experiments.js';

export const command = (fault: Fault) =>
  faultCommand(fault).action((flags: CommonOptions & TargetFlags & Record<string, unknown>) =>
    run(fault, flags),
  );

export async function run(fault: Fault, flags: CommonOptions & TargetFlags & Record<string, unknown>) {
  const spec = { type: fault.name, ...targetFrom(flags), ...fault.fromFlags(flags) };
  // The spec is as the flags gave it: runExperiments checks it against the suite schema first.
  await runExperiments([spec as Parameters<typeof runExperiments>[0][number]], flags);
}
