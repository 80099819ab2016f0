// The Chaos Mesh objects chaosctl creates (chaos-mesh.org/v1alpha1), built from an experiment.
// Pure functions: CI validates their output against Chaos Mesh's own CRD schemas
// (ci/validate-chaos-mesh.mjs). Field meanings from Chaos Mesh's api/v1alpha1 types:
// NetworkChaos `selector` picks the pods whose traffic is disturbed, `direction: to` with `target`
// delays their packets to the target pods (here: the target's answers to its callers), so probes,
// DNS and the database are untouched; StressChaos runs stressors in the selected containers'
// cgroup; `duration` ends the injection on Chaos Mesh's side even if chaosctl dies.
import { parseSelector, toLabelSelector } from '../../drivers/kubernetes/selectors.js';

export const CHAOS_MESH = { group: 'chaos-mesh.org', version: 'v1alpha1' } as const;
export const PLURALS = { NetworkChaos: 'networkchaos', StressChaos: 'stresschaos' } as const;

interface PodSelection {
  namespace: string;
  /** A label selector string, equality or set-based. */
  selector: string;
}

/** Chaos Mesh's PodSelectorSpec: labelSelectors (ANDed equality) and expressionSelectors. */
function podSelectorSpec({ namespace, selector }: PodSelection) {
  const { matchLabels, matchExpressions } = toLabelSelector(parseSelector(selector));
  return {
    namespaces: [namespace],
    ...(matchLabels ? { labelSelectors: matchLabels } : {}),
    ...(matchExpressions ? { expressionSelectors: matchExpressions } : {}),
  };
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)}s`;

const metadata = (name: string, namespace: string) => ({
  name,
  namespace,
  labels: { 'app.kubernetes.io/managed-by': 'chaosctl' },
});

export function networkChaos(opts: {
  name: string;
  target: PodSelection;
  callers: PodSelection;
  latencyMs: number;
  jitterMs: number;
  durationMs: number;
}) {
  return {
    apiVersion: `${CHAOS_MESH.group}/${CHAOS_MESH.version}`,
    kind: 'NetworkChaos',
    metadata: metadata(opts.name, opts.target.namespace),
    spec: {
      action: 'delay',
      mode: 'all',
      selector: podSelectorSpec(opts.target),
      direction: 'to',
      target: { mode: 'all', selector: podSelectorSpec(opts.callers) },
      delay: { latency: `${opts.latencyMs}ms`, jitter: `${opts.jitterMs}ms`, correlation: '0' },
      duration: seconds(opts.durationMs),
    },
  };
}

export function stressChaos(opts: {
  name: string;
  target: PodSelection;
  containerNames?: string[];
  workers: number;
  durationMs: number;
}) {
  return {
    apiVersion: `${CHAOS_MESH.group}/${CHAOS_MESH.version}`,
    kind: 'StressChaos',
    metadata: metadata(opts.name, opts.target.namespace),
    spec: {
      mode: 'all',
      selector: podSelectorSpec(opts.target),
      ...(opts.containerNames ? { containerNames: opts.containerNames } : {}),
      stressors: { cpu: { workers: opts.workers, load: 100 } },
      duration: seconds(opts.durationMs),
    },
  };
}
