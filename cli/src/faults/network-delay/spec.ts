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
  /** Targets whose traffic to the target is delayed (default: every peer's, where the backend can). */
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

/** Services whose traffic to the target is delayed: those named; none named means every peer. */
export const callersOf = (spec: NetworkDelaySpec): string[] => spec.callers ?? [];
