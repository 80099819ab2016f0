// Workload controllers and the garbage collector, as kube-controller-manager runs them:
// - Deployment -> ReplicaSet named <deployment>-<pod-template-hash>, with the pod-template-hash
//   label on the RS selector and pods (pkg/controller/deployment/sync.go getNewReplicaSet,
//   util/deployment_util.go). A template change gets a new ReplicaSet and the old ones scale to 0
//   (a simplification: no maxSurge/maxUnavailable stepping). Status sums the ReplicaSets'
//   (sync.go calculateStatus): replicas, updatedReplicas, readyReplicas, availableReplicas,
//   unavailableReplicas, observedGeneration, conditions Available/Progressing.
// - ReplicaSet -> pods <rs>-<5 random chars> (generateName). Terminating (deletionTimestamp) and
//   terminal pods are not active (pkg/controller/controller_utils.go FilterActivePods), so the
//   successor of a deleted pod is created AT ONCE, while the old one is still Terminating
//   (pkg/controller/replicaset/replica_set.go manageReplicas). Status counts active pods only.
// - StatefulSet -> pods <sts>-<ordinal>, OrderedReady by default: a missing ordinal is recreated
//   with the SAME name (and a new uid) only once the old pod object is gone, and the controller
//   waits for each pod to be Running and Ready before the next (pkg/controller/statefulset/
//   stateful_set_control.go). Its status counts created pods, terminating ones included, in
//   replicas/readyReplicas/availableReplicas (computeReplicaStatus): unlike a ReplicaSet.
// - Garbage collector: dependents whose controller owner is gone are deleted (background
//   propagation, pkg/controller/garbagecollector).
import { createHash } from 'node:crypto';
import type { Kubelet } from './pods.js';
import { isReady, isTerminal, randomSuffix } from './pods.js';
import { fromLabelSelector, matches } from './selectors.js';
import { type KubeObject, rfc3339 as now, type Store } from './store.js';

// A stable, name-safe hash of the pod template, as controller.ComputeHash gives
// (pkg/controller/controller_utils.go: FNV-32a of the template, rand.SafeEncodeString).
// Simplification: sha256 of the template's JSON, 10 characters of SafeEncodeString's alphabet,
// so the values differ from a real cluster's.
function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(template)).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...digest.subarray(0, 10)].map((b) => alphabet[b % alphabet.length]).join('');
}

const controllerOf = (object: KubeObject) =>
  (object.metadata.ownerReferences ?? []).find((r: KubeObject) => r.controller);

const ownerRef = (owner: KubeObject, apiVersion: string, kind: string) => ({
  apiVersion,
  kind,
  name: owner.metadata.name,
  uid: owner.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});

const active = (pod: KubeObject) => !pod.metadata.deletionTimestamp && !isTerminal(pod);
const runningAndReady = (pod: KubeObject) => pod.status?.phase === 'Running' && isReady(pod);

export class WorkloadControllers {
  private scheduled = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly kubelet: Kubelet,
    /** Pod creation goes through defaulting and admission, as a controller's POST does. */
    private readonly createPod: (pod: KubeObject) => void,
  ) {
    this.unsubscribe = store.subscribe((event) => {
      if (['pods', 'replicasets.apps', 'deployments.apps', 'statefulsets.apps'].includes(event.resource)) {
        this.soon();
      }
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Controllers work from their informers, a moment after the change. */
  private soon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.collectGarbage();
      for (const d of this.store.list('deployments.apps')) this.syncDeployment(d);
      for (const rs of this.store.list('replicasets.apps')) this.syncReplicaSet(rs);
      for (const sts of this.store.list('statefulsets.apps')) this.syncStatefulSet(sts);
    });
  }

  private collectGarbage(): void {
    const owners: Record<string, string> = {
      ReplicaSet: 'replicasets.apps',
      Deployment: 'deployments.apps',
      StatefulSet: 'statefulsets.apps',
    };
    for (const resource of ['replicasets.apps', 'pods']) {
      for (const object of this.store.list(resource)) {
        const ref = controllerOf(object);
        const ownerResource = ref && owners[ref.kind];
        if (!ownerResource) continue;
        const owner = this.store.get(ownerResource, object.metadata.namespace, ref.name);
        if (owner?.metadata.uid === ref.uid) continue;
        if (resource === 'pods') {
          if (!object.metadata.deletionTimestamp)
            this.kubelet.delete(object.metadata.namespace, object.metadata.name, {});
        } else this.store.remove(resource, object.metadata.namespace, object.metadata.name);
      }
    }
  }

  private owned(resource: string, owner: KubeObject): KubeObject[] {
    return this.store
      .list(resource, owner.metadata.namespace)
      .filter((o) => controllerOf(o)?.uid === owner.metadata.uid);
  }

  private syncDeployment(d: KubeObject): void {
    if (d.metadata.deletionTimestamp) return;
    const hash = templateHash(d.spec.template);
    const replicas = d.spec.replicas ?? 1;
    const sets = this.owned('replicasets.apps', d);
    let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    if (!current) {
      const labels = { ...(d.spec.template.metadata?.labels ?? {}), 'pod-template-hash': hash };
      current = this.store.create('replicasets.apps', {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels,
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(replicas) },
          ownerReferences: [ownerRef(d, 'apps/v1', 'Deployment')],
        },
        spec: {
          replicas,
          selector: {
            ...d.spec.selector,
            matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
          },
          template: { ...d.spec.template, metadata: { ...(d.spec.template.metadata ?? {}), labels } },
        },
        status: { replicas: 0 },
      });
    } else if (current.spec.replicas !== replicas) {
      current.spec.replicas = replicas;
      current = this.store.update('replicasets.apps', current);
    }
    for (const old of sets) {
      if (old.metadata.uid !== current.metadata.uid && old.spec.replicas !== 0) {
        old.spec.replicas = 0;
        this.store.update('replicasets.apps', old);
      }
    }
    const all = this.owned('replicasets.apps', d);
    const sum = (field: string) => all.reduce((n, rs) => n + (rs.status?.[field] ?? 0), 0);
    const fresh = all.find((rs) => rs.metadata.uid === current?.metadata.uid);
    const available = sum('availableReplicas');
    // The default strategy's maxUnavailable is 25%, rounded down (deployment_util.go MaxUnavailable).
    const maxUnavailable = Math.floor(replicas * 0.25);
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: sum('replicas'),
      updatedReplicas: fresh?.status?.replicas ?? 0,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, replicas - available),
      conditions: [
        keepTransition(d, {
          type: 'Available',
          status: available >= replicas - maxUnavailable ? 'True' : 'False',
          reason:
            available >= replicas - maxUnavailable
              ? 'MinimumReplicasAvailable'
              : 'MinimumReplicasUnavailable',
        }),
        // Simplification: Progressing is always True/NewReplicaSetAvailable; upstream
        // (pkg/controller/deployment/progress.go syncRolloutStatus, util/deployment_util.go)
        // reports ReplicaSetUpdated while rolling and False/ProgressDeadlineExceeded past
        // spec.progressDeadlineSeconds.
        keepTransition(d, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }),
      ],
    };
    this.writeStatus('deployments.apps', d, status);
  }

  private syncReplicaSet(rs: KubeObject): void {
    if (rs.metadata.deletionTimestamp) return;
    const pods = this.owned('pods', rs);
    const live = pods.filter(active);
    const wanted = rs.spec.replicas ?? 1;
    for (let i = live.length; i < wanted; i++) {
      this.createPod(this.podFrom(rs, 'ReplicaSet', `${rs.metadata.name}-${randomSuffix()}`));
    }
    // Scale down: the least useful first (not ready before ready, newest first: controller_utils ActivePods).
    const surplus = [...live]
      .sort(
        (a, b) =>
          Number(isReady(a)) - Number(isReady(b)) ||
          (b.metadata.creationTimestamp > a.metadata.creationTimestamp ? 1 : -1),
      )
      .slice(0, Math.max(0, live.length - wanted));
    for (const pod of surplus) this.kubelet.delete(pod.metadata.namespace, pod.metadata.name, {});
    const after = this.owned('pods', rs).filter(active);
    const selector = fromLabelSelector(rs.spec.selector) ?? [];
    this.writeStatus('replicasets.apps', rs, {
      replicas: after.length,
      fullyLabeledReplicas: after.filter((p) => matches(selector, p.metadata.labels)).length,
      readyReplicas: after.filter(isReady).length,
      // replica_set_utils.go calculateStatus counts pods Ready for minReadySeconds
      // (podutil.IsPodAvailable); simplification: minReadySeconds is taken as 0, so available = ready.
      availableReplicas: after.filter(isReady).length,
      observedGeneration: rs.metadata.generation,
    });
  }

  private syncStatefulSet(sts: KubeObject): void {
    if (sts.metadata.deletionTimestamp) return;
    const { name, namespace } = sts.metadata;
    const wanted = sts.spec.replicas ?? 1;
    const ordered = (sts.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const revision = `${name}-${templateHash(sts.spec.template)}`;
    for (let ordinal = 0; ordinal < wanted; ordinal++) {
      const podName = `${name}-${ordinal}`;
      const pod = this.store.get('pods', namespace, podName);
      if (!pod) {
        const created = this.podFrom(sts, 'StatefulSet', podName);
        created.metadata.labels = {
          ...created.metadata.labels,
          'controller-revision-hash': revision,
          'statefulset.kubernetes.io/pod-name': podName,
          'apps.kubernetes.io/pod-index': String(ordinal),
        };
        created.spec.hostname = podName;
        if (sts.spec.serviceName) created.spec.subdomain = sts.spec.serviceName;
        this.createPod(created);
        if (ordered) break;
        continue;
      }
      // A terminating pod is waited for: its successor needs the name back.
      if (ordered && (pod.metadata.deletionTimestamp || !runningAndReady(pod))) break;
    }
    for (const pod of this.owned('pods', sts)) {
      const ordinal = Number(pod.metadata.name.slice(name.length + 1));
      if (ordinal >= wanted && !pod.metadata.deletionTimestamp)
        this.kubelet.delete(namespace, pod.metadata.name, {});
    }
    const pods = this.owned('pods', sts);
    const created = pods.filter((p) => p.status?.phase);
    const ready = pods.filter(runningAndReady);
    const current = created.filter((p) => !p.metadata.deletionTimestamp);
    this.writeStatus('statefulsets.apps', sts, {
      observedGeneration: sts.metadata.generation,
      replicas: created.length,
      readyReplicas: ready.length,
      availableReplicas: ready.length,
      currentReplicas: current.length,
      updatedReplicas: current.length,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  private podFrom(owner: KubeObject, kind: string, name: string): KubeObject {
    const template = structuredClone(owner.spec.template ?? {});
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...(template.metadata ?? {}),
        name,
        namespace: owner.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        ownerReferences: [ownerRef(owner, 'apps/v1', kind)],
      },
      spec: template.spec ?? { containers: [] },
    };
  }

  private writeStatus(resource: string, object: KubeObject, status: KubeObject): void {
    if (JSON.stringify(object.status ?? {}) === JSON.stringify({ ...object.status, ...status })) return;
    const latest = this.store.get(resource, object.metadata.namespace, object.metadata.name);
    if (!latest || latest.metadata.uid !== object.metadata.uid) return;
    latest.status = { ...latest.status, ...status };
    this.store.update(resource, latest);
  }
}

function keepTransition(object: KubeObject, condition: KubeObject): KubeObject {
  const previous = (object.status?.conditions ?? []).find((c: KubeObject) => c.type === condition.type);
  const time = previous && previous.status === condition.status ? previous.lastTransitionTime : now();
  return { ...condition, lastTransitionTime: time, lastUpdateTime: previous?.lastUpdateTime ?? time };
}
