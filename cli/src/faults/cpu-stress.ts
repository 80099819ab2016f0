// cpu-stress: CPU burners compete with the target for its CPU (inside its container on
// Kubernetes, so its own limit is consumed). Timed: recovery is measured from its removal.
import { formatMs, parseDuration } from '../experiments/duration.js';
import type { FaultModule } from './fault.js';

export const DEFAULT_WORKERS = 2;

export const cpuStress: FaultModule<'cpu-stress'> = {
  type: 'cpu-stress',
  kind: 'timed',
  durationMs: (spec) => parseDuration(spec.duration),
  describe: (spec) =>
    `${spec.workers ?? DEFAULT_WORKERS} CPU burners in ${spec.service} for ${formatMs(parseDuration(spec.duration))}`,
};
