// network-delay's experiment: how late, for how long, and for whose traffic.
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { parseDuration } from '../../experiments/duration.js';
import { Duration, experimentSchema, KubeName } from '../../experiments/fields.js';

/** The native Kubernetes backend's agent image: it needs sh and tc. */
export const DEFAULT_AGENT_IMAGE = 'nicolaka/netshoot:v0.13';

export const schema = experimentSchema('network-delay', {
  latency: Duration({ nonZero: 'a zero delay breaks nothing' }),
  jitter: Type.Optional(Duration()),
  duration: Duration({ nonZero: 'a fault that lasts no time breaks nothing' }),
  /** Services whose traffic to the target is delayed (default: the target's callers on the platform). */
  callers: Type.Optional(Type.Array(KubeName(), { minItems: 1, maxItems: 20 })),
});

export type NetworkDelaySpec = Static<typeof schema>;

export function delayOf(spec: NetworkDelaySpec) {
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

export function callersOf(spec: NetworkDelaySpec): string[] {
  return (
    spec.callers ??
    PLATFORM_CALLERS[spec.service] ?? ['order-service', 'inventory-service', 'notification-service']
  );
}
