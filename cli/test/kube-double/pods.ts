// Pods: defaulting on create, graceful deletion in the registry, and a kubelet that runs them.
// - Create: the pod strategy resets status to Pending (pkg/registry/core/pod/strategy.go
//   PrepareForCreate) and defaulting fills terminationGracePeriodSeconds=30, restartPolicy, and
//   per container terminationMessagePath/Policy and imagePullPolicy (pkg/apis/core/v1/defaults.go).
// - Delete: CheckGracefulDelete in pod/strategy.go picks the grace period (the request's
//   gracePeriodSeconds, else spec.terminationGracePeriodSeconds; 0 for an unscheduled or terminal
//   pod); a non-zero period only sets metadata.deletionTimestamp and deletionGracePeriodSeconds
//   (MODIFIED), and the kubelet removes the object once its containers have stopped
//   (pkg/kubelet/status/status_manager.go canBeDeleted -> Delete with grace 0). Zero removes at once
//   (registry/generic/registry/store.go Delete). A second delete may only shorten the period
//   (rest/delete.go BeforeDelete). Preconditions that do not match are 409 Conflict (BeforeDelete).
// - The kubelet (pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer): SIGTERM, the
//   process drains and exits on its own, or is SIGKILLed when the grace period ends (exit 137).
//   Readiness only turns false when the readiness probe fails (the app's /readyz after SIGTERM);
//   a container without a probe is Ready while it runs (pkg/kubelet/prober/prober_manager.go).
//   Restart counts do not change on deletion: a deleted pod is not restarted, it is replaced.
// - Ephemeral containers: waiting (ContainerCreating) -> running -> terminated in
//   status.ephemeralContainerStatuses (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses).
import { randomBytes } from 'node:crypto';
import { conflict, notFound } from './status.js';
import { type KubeObject, rfc3339 as now, type Store } from './store.js';
import type { Timers } from './timers.js';

/** How a workload's containers behave; all times in milliseconds. */
export interface PodBehaviour {
  /** From creation to the containers running (image pull + start). */
  startMs: number;
  /** From running to Ready, when the container has a readiness probe. */
  readyMs: number;
  /** After SIGTERM: when the readiness probe starts failing (only with a probe). */
  notReadyAfterMs: number;
  /** After SIGTERM: when the process exits by itself; past the grace period it is SIGKILLed. */
  exitAfterMs: number;
}

export const DEFAULT_BEHAVIOUR: PodBehaviour = {
  startMs: 50,
  readyMs: 50,
  notReadyAfterMs: 0,
  exitAfterMs: 50,
};

/** What an ephemeral container's process does once running: resolve with its exit. */
export type EphemeralProgram = (context: {
  pod: KubeObject;
  container: KubeObject;
  signal: AbortSignal;
}) => Promise<{ exitCode: number; message?: string; reason?: string }>;

export const PODS = { group: '', resource: 'pods' };

// utilrand.String in k8s.io/apimachinery/pkg/util/rand: consonants and digits without vowels.
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
export const randomSuffix = (length = 5) =>
  [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');

export function defaultPod(pod: KubeObject): KubeObject {
  const spec = pod.spec ?? {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c);
  pod.spec = spec;
  // Simplification: qosClass is always BestEffort; upstream computes it from the containers'
  // requests and limits (pkg/apis/core/helper/qos GetPodQOS, set in pod strategy PrepareForCreate).
  pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
  return pod;
}

export function defaultContainer(container: KubeObject): KubeObject {
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  const image = String(container.image ?? '');
  container.imagePullPolicy ??= image.endsWith(':latest') || !image.includes(':') ? 'Always' : 'IfNotPresent';
  return container;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export const isTerminal = (pod: KubeObject) =>
  pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
export const isReady = (pod: KubeObject) =>
  (pod.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True');

/** rest/delete.go BeforeDelete: the preconditions, then the grace period. */
export function checkPreconditions(
  gr: { group: string; resource: string },
  object: KubeObject,
  options: DeleteOptions,
): void {
  const { uid, resourceVersion } = options.preconditions ?? {};
  const name = object.metadata.name;
  if (uid && uid !== object.metadata.uid) {
    throw conflict(
      gr,
      name,
      `the UID in the precondition (${uid}) does not match the UID in record (${object.metadata.uid}). The object might have been deleted and then recreated`,
    );
  }
  if (resourceVersion && resourceVersion !== object.metadata.resourceVersion) {
    throw conflict(
      gr,
      name,
      `the ResourceVersion in the precondition (${resourceVersion}) does not match the ResourceVersion in record (${object.metadata.resourceVersion}). The object might have been modified`,
    );
  }
}

export class Kubelet {
  /** Per pod uid: pending timers, the abort of its programs, and how far the kubelet got. */
  private readonly work = new Map<
    string,
    { timers: NodeJS.Timeout[]; abort: AbortController; started?: boolean; terminatingGrace?: number }
  >();
  private readonly ephemeralPrograms: Array<{
    match: (pod: KubeObject, c: KubeObject) => boolean;
    run: EphemeralProgram;
  }> = [];
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly timers: Timers,
    private readonly behaviourOf: (pod: KubeObject) => PodBehaviour,
  ) {
    this.unsubscribe = store.subscribe((event) => {
      if (event.resource !== 'pods') return;
      const pod = event.object;
      if (event.type === 'DELETED') return this.forget(pod.metadata.uid);
      // The kubelet reacts asynchronously to what it watches.
      setImmediate(() => this.sync(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid));
    });
  }

  onEphemeralContainer(
    match: (pod: KubeObject, container: KubeObject) => boolean,
    run: EphemeralProgram,
  ): void {
    this.ephemeralPrograms.unshift({ match, run });
  }

  /**
   * DELETE on a pod (also used by controllers, eviction and GC). Returns the pod as the response
   * shows it; with dryRun nothing is written.
   */
  delete(namespace: string, name: string, options: DeleteOptions, dryRun = false): KubeObject {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) throw notFound(PODS, name);
    checkPreconditions(PODS, pod, options);
    let grace = options.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (!pod.spec?.nodeName || isTerminal(pod)) grace = 0;
    // A negative period becomes 1 s (pkg/registry/core/pod/strategy.go CheckGracefulDelete).
    if (grace < 0) grace = 1;
    const deadline = now(Date.now() + grace * 1000);
    if (grace === 0) {
      if (dryRun) return pod;
      this.forget(pod.metadata.uid);
      return this.store.remove('pods', namespace, name) ?? pod;
    }
    if (pod.metadata.deletionTimestamp) {
      // Already terminating: only a shorter period changes anything.
      if (grace >= (pod.metadata.deletionGracePeriodSeconds ?? 0)) return pod;
    }
    pod.metadata.deletionTimestamp = deadline;
    pod.metadata.deletionGracePeriodSeconds = grace;
    if (dryRun) return pod;
    return this.store.update('pods', pod);
  }

  stop(): void {
    this.unsubscribe();
    for (const uid of [...this.work.keys()]) this.forget(uid);
  }

  private forget(uid: string): void {
    const work = this.work.get(uid);
    if (!work) return;
    for (const timer of work.timers) this.timers.cancel(timer);
    work.abort.abort();
    this.work.delete(uid);
  }

  private entry(uid: string) {
    let work = this.work.get(uid);
    if (!work) {
      work = { timers: [], abort: new AbortController() };
      this.work.set(uid, work);
    }
    return work;
  }

  private later(uid: string, ms: number, run: () => void): void {
    this.entry(uid).timers.push(this.timers.after(ms, run));
  }

  /** Apply a change to the live pod if it is still the same object (same uid). */
  private patch(
    namespace: string,
    name: string,
    uid: string,
    change: (pod: KubeObject) => boolean | undefined,
  ): void {
    const pod = this.store.get('pods', namespace, name);
    if (!pod || pod.metadata.uid !== uid) return;
    if (change(pod) !== false) this.store.update('pods', pod);
  }

  private sync(namespace: string, name: string, uid: string): void {
    const pod = this.store.get('pods', namespace, name);
    if (!pod || pod.metadata.uid !== uid || isTerminal(pod)) return;
    const state = this.entry(uid);
    if (!pod.spec.nodeName) {
      // The scheduler binds the pod (pods/binding); one node here.
      this.patch(namespace, name, uid, (p) => {
        p.spec.nodeName = 'node-1';
        p.status.conditions = [condition('PodScheduled', 'True')];
      });
      return;
    }
    if (!state.started) {
      state.started = true;
      this.start(pod);
    }
    this.syncEphemeral(pod);
    // A second delete may shorten the grace period: the kubelet then kills sooner.
    const grace = pod.metadata.deletionGracePeriodSeconds;
    if (
      pod.metadata.deletionTimestamp &&
      (state.terminatingGrace === undefined || grace < state.terminatingGrace)
    ) {
      state.terminatingGrace = grace;
      this.terminate(pod);
    }
  }

  private start(pod: KubeObject): void {
    const { namespace, name, uid } = pod.metadata;
    const behaviour = this.behaviourOf(pod);
    const probed = (pod.spec.containers ?? []).some((c: KubeObject) => c.readinessProbe);
    this.patch(namespace, name, uid, (p) => {
      p.status.conditions = [
        condition('PodScheduled', 'True'),
        condition('Initialized', 'True'),
        condition('ContainersReady', 'False', 'ContainersNotReady'),
        condition('Ready', 'False', 'ContainersNotReady'),
      ];
      p.status.hostIP = '10.0.0.1';
      p.status.podIP = `10.244.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 2}`;
      p.status.startTime = now();
      p.status.containerStatuses = (p.spec.containers ?? []).map((c: KubeObject) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
      }));
    });
    // A pod set Failed (evicted) meanwhile stays so: Failed and Succeeded are terminal (docs,
    // concepts/workloads/pods/pod-lifecycle "Pod phase"), and the kubelet refuses a status that
    // takes a terminated container back (pkg/kubelet/status/status_manager.go,
    // checkContainerStateTransition).
    this.later(uid, behaviour.startMs, () => {
      this.patch(namespace, name, uid, (p) => {
        if (p.metadata.deletionTimestamp || isTerminal(p)) return false;
        const startedAt = now();
        p.status.phase = 'Running';
        for (const s of p.status.containerStatuses ?? []) {
          s.state = { running: { startedAt } };
          s.started = true;
          s.containerID = `containerd://${randomBytes(16).toString('hex')}`;
          s.ready = !probed;
        }
        if (!probed) setReady(p, true);
      });
      if (probed) {
        this.later(uid, behaviour.readyMs, () =>
          this.patch(namespace, name, uid, (p) => {
            if (p.metadata.deletionTimestamp || isTerminal(p)) return false;
            for (const s of p.status.containerStatuses ?? []) s.ready = true;
            setReady(p, true);
          }),
        );
      }
    });
  }

  private terminate(pod: KubeObject): void {
    const { namespace, name, uid } = pod.metadata;
    const behaviour = this.behaviourOf(pod);
    const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000;
    const probed = (pod.spec.containers ?? []).some((c: KubeObject) => c.readinessProbe);
    const work = this.entry(uid);
    // The pending start/readiness steps no longer apply to a terminating pod.
    for (const timer of work.timers) this.timers.cancel(timer);
    work.timers = [];
    const running = pod.status.phase === 'Running';
    if (probed && running && behaviour.notReadyAfterMs < Math.min(behaviour.exitAfterMs, graceMs)) {
      this.later(uid, behaviour.notReadyAfterMs, () =>
        this.patch(namespace, name, uid, (p) => {
          for (const s of p.status.containerStatuses ?? []) s.ready = false;
          setReady(p, false);
        }),
      );
    }
    // killContainer (pkg/kubelet/kuberuntime/kuberuntime_container.go) gives the runtime the grace
    // period to stop the container, then it is SIGKILLed: exit 137 (128 + 9). A container that
    // never ran stops at once.
    const killed = behaviour.exitAfterMs > graceMs;
    this.later(uid, running ? Math.min(behaviour.exitAfterMs, graceMs) : 0, () => {
      this.patch(namespace, name, uid, (p) => {
        const finishedAt = now();
        for (const s of [
          ...(p.status.containerStatuses ?? []),
          ...(p.status.ephemeralContainerStatuses ?? []),
        ]) {
          const startedAt = s.state?.running?.startedAt;
          if (s.state?.terminated) continue;
          s.state = {
            terminated: {
              exitCode: killed ? 137 : 0,
              reason: killed ? 'Error' : 'Completed',
              ...(startedAt ? { startedAt } : {}),
              finishedAt,
              ...(s.containerID ? { containerID: s.containerID } : {}),
            },
          };
          s.ready = false;
          s.started = false;
        }
        setReady(p, false);
      });
      // All containers stopped: the status manager deletes the object for good.
      this.later(uid, 0, () => {
        const current = this.store.get('pods', namespace, name);
        if (current?.metadata.uid !== uid) return;
        this.forget(uid);
        this.store.remove('pods', namespace, name);
      });
    });
  }

  /**
   * A container's main process exited (killed, OOM): the kubelet restarts it in place under
   * restartPolicy Always (pkg/kubelet/kuberuntime computePodActions): lastState keeps the exit,
   * restartCount rises, the pod keeps its name, UID and IP; the new container is Ready again after
   * its readiness probe passes (no CrashLoopBackOff delay for a first restart).
   */
  containerExited(
    namespace: string,
    name: string,
    container: string,
    exitCode: number,
    reason: string,
  ): boolean {
    const pod = this.store.get('pods', namespace, name);
    const status = pod?.status?.containerStatuses?.find((s: KubeObject) => s.name === container);
    if (!pod || !status?.state?.running || pod.metadata.deletionTimestamp) return false;
    const { uid } = pod.metadata;
    const behaviour = this.behaviourOf(pod);
    const probed = (pod.spec.containers ?? []).some((c: KubeObject) => c.readinessProbe);
    this.patch(namespace, name, uid, (p) => {
      const s = p.status.containerStatuses.find((c: KubeObject) => c.name === container);
      s.lastState = {
        terminated: {
          exitCode,
          reason,
          startedAt: s.state.running.startedAt,
          finishedAt: now(),
          containerID: s.containerID,
        },
      };
      s.state = { waiting: { reason: 'ContainerCreating' } };
      s.ready = false;
      s.started = false;
      s.restartCount += 1;
      setReady(p, false);
    });
    this.later(uid, behaviour.startMs, () =>
      this.patch(namespace, name, uid, (p) => {
        if (p.metadata.deletionTimestamp) return false;
        const s = p.status.containerStatuses.find((c: KubeObject) => c.name === container);
        s.state = { running: { startedAt: now() } };
        s.started = true;
        s.containerID = `containerd://${randomBytes(16).toString('hex')}`;
        s.ready = !probed;
        if (!probed) setReady(p, true);
      }),
    );
    if (probed)
      this.later(uid, behaviour.startMs + behaviour.readyMs, () =>
        this.patch(namespace, name, uid, (p) => {
          if (p.metadata.deletionTimestamp) return false;
          for (const c of p.status.containerStatuses ?? []) c.ready = true;
          setReady(p, true);
        }),
      );
    return true;
  }

  private syncEphemeral(pod: KubeObject): void {
    const { namespace, name, uid } = pod.metadata;
    const known = new Set((pod.status.ephemeralContainerStatuses ?? []).map((s: KubeObject) => s.name));
    const added = (pod.spec.ephemeralContainers ?? []).filter((c: KubeObject) => !known.has(c.name));
    if (added.length === 0 || pod.metadata.deletionTimestamp) return;
    this.patch(namespace, name, uid, (p) => {
      p.status.ephemeralContainerStatuses ??= [];
      for (const c of added) {
        p.status.ephemeralContainerStatuses.push({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
        });
      }
    });
    const behaviour = this.behaviourOf(pod);
    for (const container of added) {
      this.later(uid, behaviour.startMs, () => {
        const startedAt = now();
        this.patch(namespace, name, uid, (p) => {
          const status = (p.status.ephemeralContainerStatuses ?? []).find(
            (s: KubeObject) => s.name === container.name,
          );
          if (!status || p.metadata.deletionTimestamp) return false;
          status.state = { running: { startedAt } };
          status.containerID = `containerd://${randomBytes(16).toString('hex')}`;
        });
        const program = this.ephemeralPrograms.find((p) => p.match(pod, container));
        if (!program) return; // runs until the pod goes
        const work = this.entry(uid);
        program
          .run({ pod, container, signal: work.abort.signal })
          .then(({ exitCode, message, reason }) => {
            this.patch(namespace, name, uid, (p) => {
              const status = (p.status.ephemeralContainerStatuses ?? []).find(
                (s: KubeObject) => s.name === container.name,
              );
              if (!status || status.state?.terminated) return false;
              status.state = {
                terminated: {
                  exitCode,
                  reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
                  ...(message ? { message } : {}),
                  startedAt,
                  finishedAt: now(),
                  containerID: status.containerID,
                },
              };
            });
          })
          .catch(() => {});
      });
    }
  }
}

function condition(type: string, status: 'True' | 'False', reason?: string): KubeObject {
  return { type, status, lastProbeTime: null, lastTransitionTime: now(), ...(reason ? { reason } : {}) };
}

function setReady(pod: KubeObject, ready: boolean): void {
  for (const type of ['ContainersReady', 'Ready']) {
    const existing = (pod.status.conditions ?? []).find((c: KubeObject) => c.type === type);
    const value = ready ? 'True' : 'False';
    if (existing) {
      if (existing.status !== value) {
        existing.status = value;
        existing.lastTransitionTime = now();
        if (ready) delete existing.reason;
        else existing.reason = 'ContainersNotReady';
      }
    } else pod.status.conditions = [...(pod.status.conditions ?? []), condition(type, value)];
  }
}
