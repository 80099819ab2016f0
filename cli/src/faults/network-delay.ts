// network-delay: the target answers its callers late for a while. Timed: recovery is measured from
// its removal.
import { formatMs, parseDuration } from '../experiments/duration.js';
import type { SpecOf } from '../experiments/spec.js';
import type { FaultModule } from './fault.js';

/** The native Kubernetes backend's agent image: it needs sh and tc. */
export const DEFAULT_AGENT_IMAGE = 'nicolaka/netshoot:v0.13';

export const networkDelay: FaultModule<'network-delay'> = {
  type: 'network-delay',
  kind: 'timed',
  durationMs: (spec) => parseDuration(spec.duration),
  describe: (spec) => {
    const { latencyMs, jitterMs } = delayOf(spec);
    return `${latencyMs} ms ± ${jitterMs} ms in front of ${spec.service} for ${formatMs(parseDuration(spec.duration))}`;
  },
};

export function delayOf(spec: SpecOf<'network-delay'>) {
  return {
    latencyMs: parseDuration(spec.latency, 'latency'),
    jitterMs: spec.jitter === undefined ? 0 : parseDuration(spec.jitter, 'jitter'),
    durationMs: parseDuration(spec.duration),
  };
}

/**
 * Who calls whom on the platform: whose traffic to a target a network-delay slows by default.
 * order-service is called by users (chaosctl's traffic); any other target (a database, a workload
 * of yours) by the three services. `callers:` in a suite, or --callers, overrides it.
 */
const PLATFORM_CALLERS: Record<string, string[]> = {
  'order-service': [],
  'inventory-service': ['order-service'],
  'notification-service': ['order-service'],
};

export function callersOf(spec: SpecOf<'network-delay'>): string[] {
  return (
    spec.callers ??
    PLATFORM_CALLERS[spec.service] ?? ['order-service', 'inventory-service', 'notification-service']
  );
}
