// Chaos Mesh's CRDs and a simulation of its controller's status model, from chaos-mesh/chaos-mesh:
// - api/v1alpha1/common_types.go: status.conditions of types Selected, AllInjected, AllRecovered,
//   Paused (all four always present); status.experiment.desiredPhase Run|Stop;
//   status.experiment.containerRecords [{id, selectorKey, phase "Injected"|"Not Injected",
//   injectedCount, recoveredCount, events [{type, operation, message, timestamp}]}].
// - controllers/common pipeline: finalizers.InitStep adds the "chaos-mesh/records" finalizer to
//   a live object; desiredphase.Step computes Stop once `duration` has elapsed, the object is
//   paused (annotation experiment.chaos-mesh.org/pause=true) or being deleted; condition.Step
//   derives the conditions from the records (controllers/common/condition/steps.go: Selected is
//   True once records exist; AllInjected / AllRecovered are True when every record is Injected /
//   Not Injected, so with no records yet BOTH are vacuously True while Selected is False); records
//   Apply/Recover per target; finalizers.CleanStep removes the finalizer only when every record is
//   recovered, after which the apiserver removes the object.
// - PodChaos action container-kill (controllers/chaosimpl/podchaos/containerkill): Apply kills
//   each of containerNames through the runtime (SIGKILL: exit 137); the kubelet restarts it.
// - A failed injection leaves the record "Not Injected" with a Failed Apply event carrying the
//   message (AllInjected stays False). The CRDs have no status subresource (`subresources: {}`).
import type { Kubelet } from './pods.js';
import type { ResourceType } from './resources.js';
import { fromLabelSelector, matches } from './selectors.js';
import { type KubeObject, rfc3339 as now, type Store } from './store.js';
import type { Timers } from './timers.js';

const CHAOS_GROUP = 'chaos-mesh.org';
const FINALIZER = 'chaos-mesh/records';
const PAUSE = 'experiment.chaos-mesh.org/pause';

const chaosType = (kind: string, resource: string): ResourceType => ({
  group: CHAOS_GROUP,
  version: 'v1alpha1',
  resource,
  kind,
  namespaced: true,
  verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
  subresources: [],
  hasStatus: false,
});

export const CHAOS_TYPES = [
  chaosType('NetworkChaos', 'networkchaos'),
  chaosType('StressChaos', 'stresschaos'),
  chaosType('PodChaos', 'podchaos'),
];

export interface ChaosMeshOptions {
  /** From creation to the targets being injected. */
  injectDelayMs: number;
  /** From the stop decision (delete, duration, pause) to the targets being recovered. */
  recoverDelayMs: number;
  /** Return a message to make the injection fail for an object. */
  failInjection?: (chaos: KubeObject) => string | undefined;
}

/** Go's time.ParseDuration for the units chaos objects use. */
function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    total += Number(match[1]) * (units[match[2] as string] ?? 0);
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

export class ChaosMeshController {
  private readonly unsubscribe: () => void;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /**
   * When each object was first seen, in ms. Chaos Mesh counts `duration` from creationTimestamp,
   * which has second precision: fine for minutes, too coarse for the sub-second durations of tests.
   */
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly timers: Timers,
    private readonly kubelet: Kubelet,
    readonly options: ChaosMeshOptions,
  ) {
    this.unsubscribe = store.subscribe((event) => {
      if (!event.resource.endsWith(`.${CHAOS_GROUP}`) || event.type === 'DELETED') return;
      const { namespace, name } = event.object.metadata;
      setImmediate(() => this.reconcile(event.resource, namespace, name));
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  private select(chaos: KubeObject): KubeObject[] {
    const selector = chaos.spec?.selector ?? {};
    const namespaces: string[] = selector.namespaces ?? [chaos.metadata.namespace];
    const labels = fromLabelSelector({
      matchLabels: selector.labelSelectors,
      matchExpressions: selector.expressionSelectors,
    });
    const named: Record<string, string[]> | undefined = selector.pods;
    // pkg/selector/pod/selector.go SelectPods: selector.pods names pods, otherwise namespaces and
    // label/expression selectors; phases are filtered only on request (podPhaseSelectors,
    // phase_selector.go). Simplification: only Running pods without a deletionTimestamp are taken,
    // the ones whose containers the daemon can inject into.
    let pods = this.store
      .list('pods')
      .filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.phase === 'Running' &&
          (named
            ? (named[p.metadata.namespace] ?? []).includes(p.metadata.name)
            : namespaces.includes(p.metadata.namespace) && matches(labels ?? [], p.metadata.labels)),
      );
    // pkg/selector/generic/mode.go FilterObjectsByMode: mode one / fixed / fixed-percent /
    // random-max-percent / all. Simplification: deterministic here: the first pods in name order
    // rather than random indexes, and random-max-percent takes the maximum percentage.
    const value = Number(String(chaos.spec?.value ?? '').replace('%', ''));
    const mode = chaos.spec?.mode ?? 'all';
    const count =
      mode === 'one'
        ? 1
        : mode === 'fixed'
          ? value
          : mode === 'fixed-percent' || mode === 'random-max-percent'
            ? Math.floor((pods.length * value) / 100)
            : pods.length;
    pods = pods.slice(0, Math.min(count, pods.length));
    return pods;
  }

  private recordsFor(chaos: KubeObject, pods: KubeObject[]): KubeObject[] {
    // A StressChaos records one target per container (its ContainerSelector, pkg/selector/container:
    // ids <namespace>/<pod>/<container>, spec.containerNames or every container;
    // controllers/chaosimpl/stresschaos); NetworkChaos and PodChaos one per pod
    // (<namespace>/<pod>, pkg/selector/pod/selector.go Pod.Id).
    const containerLevel = chaos.kind === 'StressChaos';
    return pods.flatMap((p) => {
      const base = `${p.metadata.namespace}/${p.metadata.name}`;
      const ids = containerLevel
        ? (chaos.spec?.containerNames ?? (p.spec.containers ?? []).map((c: KubeObject) => c.name)).map(
            (c: string) => `${base}/${c}`,
          )
        : [base];
      return ids.map((id: string) => ({
        id,
        selectorKey: '.',
        phase: 'Not Injected',
        injectedCount: 0,
        recoveredCount: 0,
      }));
    });
  }

  private reconcile(resource: string, namespace: string, name: string): void {
    const chaos = this.store.get(resource, namespace, name);
    if (!chaos) return;
    const key = `${resource}/${namespace}/${name}/${chaos.metadata.uid}`;
    const deleting = Boolean(chaos.metadata.deletionTimestamp);
    const finalizers: string[] = chaos.metadata.finalizers ?? [];
    if (!deleting && !finalizers.includes(FINALIZER)) {
      chaos.metadata.finalizers = [...finalizers, FINALIZER];
      this.store.update(resource, chaos);
      return;
    }
    const durationMs = chaos.spec?.duration ? parseDuration(chaos.spec.duration) : undefined;
    if (!this.firstSeen.has(chaos.metadata.uid)) this.firstSeen.set(chaos.metadata.uid, Date.now());
    const started = this.firstSeen.get(chaos.metadata.uid) as number;
    const expired = durationMs !== undefined && Date.now() >= started + durationMs;
    const paused = chaos.metadata.annotations?.[PAUSE] === 'true';
    const desiredPhase = deleting || expired || paused ? 'Stop' : 'Run';
    const experiment = chaos.status?.experiment ?? {};
    let records: KubeObject[] | undefined = experiment.containerRecords;
    if (!records && desiredPhase === 'Run') {
      const pods = this.select(chaos);
      if (pods.length > 0) records = this.recordsFor(chaos, pods);
    }
    const next = structuredClone(chaos);
    next.status = { ...(next.status ?? {}), experiment: { ...experiment, desiredPhase } };
    // condition.Step runs before records.Step: conditions trail the records by one reconcile.
    next.status.conditions = conditions(experiment.containerRecords, paused);
    if (records) next.status.experiment.containerRecords = records;
    if (JSON.stringify(next.status) !== JSON.stringify(chaos.status)) this.store.update(resource, next);
    // Records move towards the desired phase after the simulated daemon's work.
    const target = desiredPhase === 'Run' ? 'Injected' : 'Not Injected';
    const lagging = (records ?? []).some((r) => r.phase !== target);
    if (lagging && !this.pending.has(key)) {
      const delay = desiredPhase === 'Run' ? this.options.injectDelayMs : this.options.recoverDelayMs;
      this.pending.set(
        key,
        this.timers.after(delay, () => {
          this.pending.delete(key);
          this.step(resource, namespace, name, chaos.metadata.uid, desiredPhase);
        }),
      );
    }
    if (!lagging && desiredPhase === 'Stop' && deleting && finalizers.includes(FINALIZER)) {
      const latest = this.store.get(resource, namespace, name);
      if (!latest) return;
      latest.metadata.finalizers = (latest.metadata.finalizers ?? []).filter((f: string) => f !== FINALIZER);
      if (latest.metadata.finalizers.length === 0) {
        this.firstSeen.delete(chaos.metadata.uid);
        this.store.remove(resource, namespace, name);
      } else this.store.update(resource, latest);
    }
    if (
      durationMs !== undefined &&
      !expired &&
      desiredPhase === 'Run' &&
      !this.pending.has(`${key}/duration`)
    ) {
      // desiredphase.Step requeues for the remaining duration, and again on a reconcile that finds
      // it not yet over: a timer can fire up to a millisecond early by Date.now(), which counts
      // whole milliseconds on another clock than the timer's.
      this.pending.set(
        `${key}/duration`,
        this.timers.after(started + durationMs - Date.now(), () => {
          this.pending.delete(`${key}/duration`);
          this.reconcile(resource, namespace, name);
        }),
      );
    }
  }

  private step(
    resource: string,
    namespace: string,
    name: string,
    uid: string,
    desired: 'Run' | 'Stop',
  ): void {
    const chaos = this.store.get(resource, namespace, name);
    if (!chaos || chaos.metadata.uid !== uid) return;
    const current = chaos.status?.experiment?.desiredPhase ?? desired;
    const failure = current === 'Run' ? this.options.failInjection?.(chaos) : undefined;
    const records: KubeObject[] = chaos.status?.experiment?.containerRecords ?? [];
    for (const record of records) {
      const timestamp = now();
      record.events ??= [];
      if (current === 'Run' && record.phase !== 'Injected') {
        if (failure) {
          record.events.push({ type: 'Failed', operation: 'Apply', message: failure, timestamp });
        } else {
          record.phase = 'Injected';
          record.injectedCount += 1;
          if (chaos.kind === 'PodChaos' && chaos.spec?.action === 'container-kill') {
            const [podNamespace = '', pod = ''] = String(record.id).split('/');
            for (const container of chaos.spec.containerNames ?? [])
              this.kubelet.containerExited(podNamespace, pod, container, 137, 'Error');
          }
          record.events.push({ type: 'Succeeded', operation: 'Apply', timestamp });
        }
      } else if (current === 'Stop' && record.phase !== 'Not Injected') {
        record.phase = 'Not Injected';
        record.recoveredCount += 1;
        record.events.push({ type: 'Succeeded', operation: 'Recover', timestamp });
      }
    }
    chaos.status.conditions = conditions(records, chaos.metadata.annotations?.[PAUSE] === 'true');
    this.store.update(resource, chaos);
    if (failure) {
      // The records step requeues a failed Apply and controller-runtime retries it with its rate
      // limiter's exponential backoff (controllers/common/records/controller.go). Simplification:
      // a fixed delay of max(injectDelayMs, 200 ms), while it fails.
      const key = `${resource}/${namespace}/${name}/${uid}`;
      if (!this.pending.has(key)) {
        this.pending.set(
          key,
          this.timers.after(Math.max(this.options.injectDelayMs, 200), () => {
            this.pending.delete(key);
            this.reconcile(resource, namespace, name);
          }),
        );
      }
    }
  }
}

function conditions(records: KubeObject[] | undefined, paused: boolean): KubeObject[] {
  const all = records ?? [];
  const flag = (value: boolean) => (value ? 'True' : 'False');
  return [
    { type: 'Selected', status: flag(records !== undefined) },
    { type: 'AllInjected', status: flag(all.every((r) => r.phase === 'Injected')) },
    { type: 'AllRecovered', status: flag(all.every((r) => r.phase === 'Not Injected')) },
    { type: 'Paused', status: flag(paused) },
  ];
}
