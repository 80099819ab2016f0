// The few Kubernetes calls the driver makes, behind one small interface
// (@kubernetes/client-node 2 underneath: kubeconfig or in-cluster service account).
import {
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  type V1EphemeralContainer,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';

export interface PodInfo {
  name: string;
  ready: boolean;
  restarts: number;
  containers: Array<{ name: string; image: string }>;
  hasReadinessProbe: boolean;
  labels: Record<string, string>;
}

export interface KubeApi {
  listPods(namespace: string, selector: string): Promise<PodInfo[]>;
  /** Calls `onChange` with the full current set whenever a pod is added, changes or goes. */
  watchPods(namespace: string, selector: string, onChange: (pods: PodInfo[]) => void): Promise<() => void>;
  deletePod(namespace: string, name: string): Promise<void>;
  addEphemeralContainer(namespace: string, pod: string, container: V1EphemeralContainer): Promise<void>;
  containerLog(namespace: string, pod: string, container: string): Promise<string>;
  /** The label selectors (matchLabels) of the namespace's PodDisruptionBudgets. */
  disruptionBudgets(namespace: string): Promise<Array<Record<string, string>>>;
}

export function podInfo(pod: V1Pod): PodInfo {
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return {
    name: pod.metadata?.name ?? '',
    ready: ready && !pod.metadata?.deletionTimestamp,
    restarts: (pod.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
    hasReadinessProbe: (pod.spec?.containers ?? []).every((c) => c.readinessProbe !== undefined),
    labels: pod.metadata?.labels ?? {},
  };
}

export function clientNodeApi(kubeconfig?: string): KubeApi {
  const config = new KubeConfig();
  if (kubeconfig) config.loadFromFile(kubeconfig);
  else config.loadFromDefault();
  const core = config.makeApiClient(CoreV1Api);
  const policy = config.makeApiClient(PolicyV1Api);
  return {
    async listPods(namespace, labelSelector) {
      return (await core.listNamespacedPod({ namespace, labelSelector })).items.map(podInfo);
    },
    async watchPods(namespace, labelSelector, onChange) {
      const pods = new Map<string, PodInfo>();
      for (const pod of await this.listPods(namespace, labelSelector)) pods.set(pod.name, pod);
      onChange([...pods.values()]);
      const controller = await new Watch(config).watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector },
        (phase, object: V1Pod) => {
          const pod = podInfo(object);
          if (phase === 'DELETED') pods.delete(pod.name);
          else pods.set(pod.name, pod);
          onChange([...pods.values()]);
        },
        () => {},
      );
      return () => controller.abort();
    },
    async deletePod(namespace, name) {
      await core.deleteNamespacedPod({ namespace, name });
    },
    async addEphemeralContainer(namespace, name, container) {
      const pod = await core.readNamespacedPod({ namespace, name });
      const ephemeralContainers = [...(pod.spec?.ephemeralContainers ?? []), container];
      await core.replaceNamespacedPodEphemeralcontainers({
        namespace,
        name,
        body: { ...pod, spec: { ...pod.spec, containers: pod.spec?.containers ?? [], ephemeralContainers } },
      });
    },
    async containerLog(namespace, name, container) {
      return core.readNamespacedPodLog({ namespace, name, container });
    },
    async disruptionBudgets(namespace) {
      const budgets = await policy.listNamespacedPodDisruptionBudget({ namespace });
      return budgets.items.map((pdb) => pdb.spec?.selector?.matchLabels ?? {});
    },
  };
}
