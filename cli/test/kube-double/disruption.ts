// PodDisruptionBudgets and the Eviction API.
// - The disruption controller (pkg/controller/disruption/disruption.go trySync/getExpectedPodCount/
//   countHealthyPods/updatePdbStatus): expectedPods is the number of matching pods for an integer
//   minAvailable, else the owning controllers' desired scale; desiredHealthy from minAvailable or
//   expectedPods - maxUnavailable (percentages rounded up); currentHealthy counts Ready pods
//   without a deletionTimestamp and not just evicted (status.disruptedPods);
//   disruptionsAllowed = max(0, currentHealthy - desiredHealthy); condition DisruptionAllowed.
// - POST pods/<name>/eviction (pkg/registry/core/pod/storage/eviction.go): terminal, Pending or
//   already-terminating pods are deleted without a budget check (canIgnorePDB); preconditions are
//   checked against the pod (409 "on Pod"); more than one matching PDB is a 500 InternalError;
//   disruptionsAllowed 0 is 429 TooManyRequests "Cannot evict pod as it would violate the pod's
//   disruption budget." with a DisruptionBudget cause; otherwise the budget is decremented, the pod
//   recorded in disruptedPods, and the pod deleted with the request's deleteOptions: 201 Success.
import { checkPreconditions, type DeleteOptions, isReady, isTerminal, type Kubelet, PODS } from './pods.js';
import { fromLabelSelector, matches } from './selectors.js';
import { internalError, notFound, success, tooManyRequests } from './status.js';
import { type KubeObject, rfc3339 as now, type Store } from './store.js';

const PDBS = 'poddisruptionbudgets.policy';
/** DeletionTimeout in disruption.go: an eviction not followed by a deletion stops counting after 2 min. */
const DISRUPTED_POD_TIMEOUT_MS = 2 * 60 * 1000;

function scaled(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const percent = Number(String(value).replace('%', ''));
  return Math.ceil((percent * total) / 100);
}

export class DisruptionController {
  private scheduled = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly kubelet: Kubelet,
  ) {
    this.unsubscribe = store.subscribe((event) => {
      if (event.resource === 'pods' || event.resource === PDBS || event.resource.endsWith('.apps'))
        this.soon();
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  private soon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const pdb of this.store.list(PDBS)) this.sync(pdb);
    });
  }

  private podsOf(pdb: KubeObject): KubeObject[] {
    const selector = fromLabelSelector(pdb.spec?.selector);
    if (!selector) return [];
    return this.store
      .list('pods', pdb.metadata.namespace)
      .filter((p) => matches(selector, p.metadata.labels));
  }

  /** The desired scale of the controllers owning the pods (disruption.go getExpectedScale). */
  private expectedScale(pods: KubeObject[]): number {
    const seen = new Map<string, number>();
    for (const pod of pods) {
      const ref = (pod.metadata.ownerReferences ?? []).find((r: KubeObject) => r.controller);
      if (!ref) continue;
      const resource = { ReplicaSet: 'replicasets.apps', StatefulSet: 'statefulsets.apps' }[
        ref.kind as string
      ];
      const owner = resource && this.store.get(resource, pod.metadata.namespace, ref.name);
      if (owner) seen.set(owner.metadata.uid, owner.spec.replicas ?? 1);
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  }

  private compute(pdb: KubeObject) {
    const pods = this.podsOf(pdb);
    const disrupted: Record<string, string> = { ...(pdb.status?.disruptedPods ?? {}) };
    for (const [name, at] of Object.entries(disrupted)) {
      const pod = pods.find((p) => p.metadata.name === name);
      if (!pod || pod.metadata.deletionTimestamp || Date.now() - Date.parse(at) > DISRUPTED_POD_TIMEOUT_MS) {
        delete disrupted[name];
      }
    }
    let expectedPods: number;
    let desiredHealthy: number;
    const { minAvailable, maxUnavailable } = pdb.spec ?? {};
    if (maxUnavailable !== undefined) {
      expectedPods = this.expectedScale(pods);
      desiredHealthy = Math.max(0, expectedPods - scaled(maxUnavailable, expectedPods));
    } else if (typeof minAvailable === 'string') {
      expectedPods = this.expectedScale(pods);
      desiredHealthy = scaled(minAvailable, expectedPods);
    } else {
      expectedPods = pods.length;
      desiredHealthy = minAvailable ?? 1;
    }
    const currentHealthy = pods.filter(
      (p) => !p.metadata.deletionTimestamp && !isTerminal(p) && isReady(p) && !disrupted[p.metadata.name],
    ).length;
    const disruptionsAllowed = expectedPods <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
    return { disrupted, expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed };
  }

  private sync(pdb: KubeObject): void {
    const { disrupted, expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed } = this.compute(pdb);
    const allowed = disruptionsAllowed > 0;
    const previous = (pdb.status?.conditions ?? []).find((c: KubeObject) => c.type === 'DisruptionAllowed');
    const status = {
      observedGeneration: pdb.metadata.generation,
      disruptedPods: disrupted,
      disruptionsAllowed,
      currentHealthy,
      desiredHealthy,
      expectedPods,
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: allowed ? 'True' : 'False',
          reason: allowed ? 'SufficientPods' : 'InsufficientPods',
          message: '',
          observedGeneration: pdb.metadata.generation,
          lastTransitionTime:
            previous && previous.status === (allowed ? 'True' : 'False')
              ? previous.lastTransitionTime
              : now(),
        },
      ],
    };
    if (JSON.stringify(status) === JSON.stringify(pdb.status)) return;
    const latest = this.store.get(PDBS, pdb.metadata.namespace, pdb.metadata.name);
    if (!latest) return;
    latest.status = status;
    this.store.update(PDBS, latest);
  }

  /** POST pods/<name>/eviction. */
  evict(namespace: string, name: string, options: DeleteOptions, dryRun: boolean) {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) throw notFound(PODS, name);
    // eviction.go checks preconditions itself, naming the resource "Pod", with delete's messages.
    checkPreconditions({ group: '', resource: 'Pod' }, pod, options);
    const ignoreBudget = isTerminal(pod) || pod.status?.phase === 'Pending' || pod.metadata.deletionTimestamp;
    if (!ignoreBudget) {
      const budgets = this.store.list(PDBS, namespace).filter((pdb) => {
        const selector = fromLabelSelector(pdb.spec?.selector);
        return selector !== undefined && matches(selector, pod.metadata.labels);
      });
      if (budgets.length > 1) {
        throw internalError(
          'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        );
      }
      const pdb = budgets[0];
      if (pdb) {
        const current = this.compute(pdb);
        // eviction.go checkAndDecrement reads pdb.Status; a budget whose status the controller has
        // not written yet (observedGeneration < generation) is refused there with 429 "still being
        // processed" (createTooManyRequestsError, retry after 10 s). Simplification: the double
        // computes the status itself when there is none, instead of refusing.
        const allowed = pdb.status?.disruptionsAllowed ?? current.disruptionsAllowed;
        // An unready pod may go when the budget is already met (unhealthyPodEvictionPolicy IfHealthyBudget).
        const unhealthyOk = !isReady(pod) && current.currentHealthy >= current.desiredHealthy;
        if (!unhealthyOk) {
          if (allowed <= 0) {
            // eviction.go checkAndDecrement: NewTooManyRequests(..., 0) with the DisruptionBudget
            // cause. Simplification: retryAfterSeconds is 10 here (upstream 0, so no Retry-After
            // header); 10 is what upstream gives its other eviction 429 (createTooManyRequestsError).
            throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10, [
              {
                reason: 'DisruptionBudget',
                message: `The disruption budget ${pdb.metadata.name} needs ${pdb.status?.desiredHealthy ?? current.desiredHealthy} healthy pods and has ${pdb.status?.currentHealthy ?? current.currentHealthy} currently`,
              },
            ]);
          }
          if (!dryRun) {
            const latest = this.store.get(PDBS, namespace, pdb.metadata.name);
            if (latest) {
              latest.status = {
                ...latest.status,
                disruptionsAllowed: allowed - 1,
                disruptedPods: { ...(latest.status?.disruptedPods ?? {}), [name]: now() },
              };
              this.store.update(PDBS, latest);
            }
          }
        }
      }
    }
    this.kubelet.delete(namespace, name, options, dryRun);
    return success(201);
  }
}
