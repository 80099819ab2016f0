// What every Chaos Mesh object chaosctl creates (chaos-mesh.org/v1alpha1) shares, built as pure
// functions. Field meanings from Chaos Mesh's api/v1alpha1 types: `selector` picks the pods,
// `containerNames` the containers in them, and `duration` ends the injection on Chaos Mesh's side
// even if chaosctl dies. Each fault builds its own kind (faults/<name>/chaos-mesh.ts).
import { parseSelector, toLabelSelector } from '../../drivers/kubernetes/selectors.js';

export const CHAOS_MESH = { group: 'chaos-mesh.org', version: 'v1alpha1' } as const;

export interface PodSelection {
  namespace: string;
  /** A label selector string, equality or set-based. */
  selector: string;
}

/** Chaos Mesh's PodSelectorSpec: labelSelectors (ANDed equality) and expressionSelectors. */
export function podSelectorSpec({ namespace, selector }: PodSelection) {
  const { matchLabels, matchExpressions } = toLabelSelector(parseSelector(selector));
  return {
    namespaces: [namespace],
    ...(matchLabels ? { labelSelectors: matchLabels } : {}),
    ...(matchExpressions ? { expressionSelectors: matchExpressions } : {}),
  };
}

export interface ChaosObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** An object of `kind`, labelled as chaosctl's, with its safety-net duration. */
export function chaosObject(
  kind: string,
  name: string,
  namespace: string,
  durationMs: number,
  spec: Record<string, unknown>,
): ChaosObject {
  return {
    apiVersion: `${CHAOS_MESH.group}/${CHAOS_MESH.version}`,
    kind,
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'chaosctl' } },
    spec: { ...spec, duration: `${Math.ceil(durationMs / 1000)}s` },
  };
}

/** A StressChaos: stressors (cpu, memory) run in the selected containers' cgroup. */
export function stressChaos(opts: {
  name: string;
  target: PodSelection;
  containerNames?: string[];
  stressors: Record<string, unknown>;
  durationMs: number;
}): ChaosObject {
  return chaosObject('StressChaos', opts.name, opts.target.namespace, opts.durationMs, {
    mode: 'all',
    selector: podSelectorSpec(opts.target),
    ...(opts.containerNames ? { containerNames: opts.containerNames } : {}),
    stressors: opts.stressors,
  });
}
