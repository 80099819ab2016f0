// Every Kubernetes call chaosctl makes, in one place (@kubernetes/client-node 2 underneath), so the
// chart's chaosctl Role can be checked against them (cli/test/rbac.test.ts records them against
// the API server double). Errors become one line (cluster.ts kubeError).
import { Writable } from 'node:stream';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Exec,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type V1EphemeralContainer,
  type V1Pod,
  type V1Status,
} from '@kubernetes/client-node';
import { type Cluster, kubeError, statusOf } from './cluster.js';
import { PodTracker } from './pod-tracker.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type WorkloadKind = 'Deployment' | 'StatefulSet';

export class KubeClient {
  readonly namespace: string;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly policy: PolicyV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(readonly cluster: Cluster) {
    this.namespace = cluster.namespace;
    this.core = cluster.config.makeApiClient(CoreV1Api);
    this.apps = cluster.config.makeApiClient(AppsV1Api);
    this.policy = cluster.config.makeApiClient(PolicyV1Api);
    this.custom = cluster.config.makeApiClient(CustomObjectsApi);
  }

  /** pods: list + watch (an informer). */
  trackPods(selector: string): PodTracker {
    return new PodTracker(this.cluster.config, this.core, this.namespace, selector);
  }

  /** pods: get. */
  async pod(name: string): Promise<V1Pod | undefined> {
    return this.orUndefined(
      () => this.core.readNamespacedPod({ namespace: this.namespace, name }),
      `read pod ${name}`,
    );
  }

  /** services: get. */
  async service(name: string) {
    return this.orUndefined(
      () => this.core.readNamespacedService({ namespace: this.namespace, name }),
      `read service ${name}`,
    );
  }

  /** namespaces: get (a Role may grant it: the namespace attribute of GET namespaces/<ns> is <ns>). */
  async namespaceLabels(): Promise<Record<string, string>> {
    const ns = await this.call(
      () => this.core.readNamespace({ name: this.namespace }),
      `read namespace ${this.namespace}`,
    );
    return ns.metadata?.labels ?? {};
  }

  /** deployments / statefulsets: get; replicasets: get (to find a pod's Deployment). */
  async workload(kind: WorkloadKind, name: string) {
    const read =
      kind === 'Deployment'
        ? () => this.apps.readNamespacedDeployment({ namespace: this.namespace, name })
        : () => this.apps.readNamespacedStatefulSet({ namespace: this.namespace, name });
    return this.orUndefined(read, `read ${kind.toLowerCase()} ${name}`);
  }

  async replicaSet(name: string) {
    return this.orUndefined(
      () => this.apps.readNamespacedReplicaSet({ namespace: this.namespace, name }),
      `read replicaset ${name}`,
    );
  }

  /** poddisruptionbudgets: list. */
  async disruptionBudgets() {
    return (
      await this.call(
        () => this.policy.listNamespacedPodDisruptionBudget({ namespace: this.namespace }),
        `list PodDisruptionBudgets in ${this.namespace}`,
      )
    ).items;
  }

  /** pods: delete, with a UID precondition so a same-name successor is never hit. */
  async deletePod(name: string, uid: string, gracePeriodSeconds?: number): Promise<void> {
    await this.call(
      () =>
        this.core.deleteNamespacedPod({
          namespace: this.namespace,
          name,
          body: {
            preconditions: { uid },
            ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
          },
        }),
      `delete pod ${name}`,
    );
  }

  /** pods/eviction: create (the Eviction API, which honours PodDisruptionBudgets: 429 when it would violate one). */
  async evictPod(name: string, uid: string, gracePeriodSeconds?: number): Promise<void> {
    await this.call(
      () =>
        this.core.createNamespacedPodEviction({
          namespace: this.namespace,
          name,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name, namespace: this.namespace },
            deleteOptions: {
              preconditions: { uid },
              ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
            },
          },
        }),
      `evict pod ${name}`,
    );
  }

  /**
   * pods/ephemeralcontainers: patch (strategic merge: the list merges by name, so concurrent
   * additions do not overwrite each other as a read-modify-PUT would). dryRun runs admission only.
   */
  async addEphemeralContainer(pod: string, container: V1EphemeralContainer, dryRun = false): Promise<V1Pod> {
    return this.call(
      () =>
        this.core.patchNamespacedPodEphemeralcontainers(
          {
            namespace: this.namespace,
            name: pod,
            body: { spec: { ephemeralContainers: [container] } },
            ...(dryRun ? { dryRun: 'All' } : {}),
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
      `${dryRun ? 'dry-run adding' : 'add'} ephemeral container ${container.name} to pod ${pod}`,
    );
  }

  /** pods/exec: create (over WebSocket). Bounded by timeoutMs; the exit code comes from the status channel. */
  async exec(pod: string, container: string, command: string[], timeoutMs = 15_000): Promise<ExecResult> {
    const out = collector();
    const err = collector();
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      const finish = (result: ExecResult | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const timer = setTimeout(() => {
        socket?.close();
        finish(new Error(`exec in ${pod}/${container} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      let socket: { close(): void; on(event: string, cb: () => void): void } | undefined;
      new Exec(this.cluster.config)
        .exec(
          this.namespace,
          pod,
          container,
          command,
          out.stream,
          err.stream,
          null,
          false,
          (status: V1Status) =>
            finish({ exitCode: exitCodeOf(status), stdout: out.text(), stderr: err.text() }),
        )
        .then((ws) => {
          socket = ws as unknown as typeof socket;
          socket?.on('close', () =>
            // The status channel comes before the close; a close without it means the stream broke.
            setTimeout(() => finish(new Error(`exec in ${pod}/${container} closed without a status`)), 50),
          );
        })
        .catch((error: unknown) => finish(kubeError(error, `exec in pod ${pod} container ${container}`)));
    });
  }

  /** Discovery: does the API server serve this group/version and resource (e.g. chaos-mesh.org/v1alpha1 networkchaos)? */
  async serves(group: string, version: string, plural: string): Promise<boolean> {
    try {
      const list = (await this.custom.getAPIResources({ group, version })) as {
        resources?: Array<{ name: string }>;
      };
      return (list.resources ?? []).some((r) => r.name === plural);
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw kubeError(error, `discover ${group}/${version}`);
    }
  }

  /** <group>/<plural>: create, get, delete (Chaos Mesh objects). */
  async createCustom(
    group: string,
    version: string,
    plural: string,
    body: object,
    dryRun = false,
  ): Promise<void> {
    await this.call(
      () =>
        this.custom.createNamespacedCustomObject({
          group,
          version,
          plural,
          namespace: this.namespace,
          body,
          ...(dryRun ? { dryRun: 'All' } : {}),
        }),
      `${dryRun ? 'dry-run creating' : 'create'} ${plural}.${group}`,
    );
  }

  async getCustom(
    group: string,
    version: string,
    plural: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined> {
    return this.orUndefined(
      () =>
        this.custom.getNamespacedCustomObject({ group, version, plural, namespace: this.namespace, name }),
      `read ${plural}.${group} ${name}`,
    );
  }

  async deleteCustom(group: string, version: string, plural: string, name: string): Promise<void> {
    await this.orUndefined(
      () =>
        this.custom.deleteNamespacedCustomObject({ group, version, plural, namespace: this.namespace, name }),
      `delete ${plural}.${group} ${name}`,
    );
  }

  private async call<T>(request: () => Promise<T>, doing: string): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw kubeError(error, doing);
    }
  }

  private async orUndefined<T>(request: () => Promise<T>, doing: string): Promise<T | undefined> {
    try {
      return await request();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw kubeError(error, doing);
    }
  }
}

/** The exit code in an exec's final Status: Success is 0; a failure carries an ExitCode cause. */
function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message === undefined ? 1 : Number(cause.message);
}

function collector() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (chunks.reduce((n, c) => n + c.length, 0) < 1_000_000) chunks.push(chunk);
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
