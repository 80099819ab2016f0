// A TEST DOUBLE of the Kubernetes API server, its controllers and a kubelet, over real HTTP on
// 127.0.0.1, for @kubernetes/client-node 2 exactly as a cluster would serve it. Each behaviour
// names its upstream source in the module that implements it: store.ts (resourceVersion, uid,
// history), watch.ts (watch semantics), selectors.ts, pods.ts (graceful deletion, kubelet),
// workloads.ts (Deployment/ReplicaSet/StatefulSet, GC), disruption.ts (PDB, eviction),
// admission.ts (Pod Security), router.ts (REST, dryRun, ephemeralcontainers), exec.ts,
// authz.ts (RBAC attributes, 403), chaos-mesh.ts, resources.ts (discovery), kubeconfig.ts.
//
// PUBLIC API (the controls a test uses; the cluster itself is driven only through client-node):
//   const kube = await new KubeDouble(options?).start();     options (all optional):
//     behaviour: Partial<PodBehaviour>   default pod timings {startMs, readyMs, notReadyAfterMs, exitAfterMs}
//     bookmarkIntervalMs = 60_000         BOOKMARK period for allowWatchBookmarks watches
//     watchTimeoutSeconds = 1800          server-side end of a watch without timeoutSeconds
//     users = { 'test-token': 'system:serviceaccount:default:chaosctl' }   bearer token -> user
//   kube.url                                   http://127.0.0.1:<port>
//   kube.writeKubeconfig(path, contexts?)      contexts: {context, namespace?, user} or an array of them (the
//                                              first is current-context; default: context "test" as the first
//                                              user); each user gets its own bearer token; returns path.
//                                              kubectl and helm send no token over plain HTTP: their
//                                              requests are system:anonymous (the chart and CI tests)
//   kube.setBehaviour(namespace, workload, Partial<PodBehaviour>)   per Deployment/StatefulSet (or pod) name,
//       read when a pod starts and when it is deleted. PodBehaviour (ms, defaults 50/50/0/50):
//       startMs (created -> running), readyMs (running -> Ready, only with a readinessProbe; without one a
//       running container is Ready), notReadyAfterMs (after SIGTERM the probe fails), exitAfterMs (after
//       SIGTERM the process exits; beyond the pod's grace period it is SIGKILLed, exit 137).
//       e.g. the chart's pod: { startMs: 1000, readyMs: 500, notReadyAfterMs: 100, exitAfterMs: 6000 }.
//   Namespace "default" exists; create others (with pod-security labels) through CoreV1Api.createNamespace.
//   kube.setPodPhase(namespace, pod, {phase, reason?, message?})    e.g. Failed/Evicted; stays until deleted
//   kube.forbid({verb, group, resource: 'pods' | 'pods/eviction' | '*', user?, namespace?})  -> real 403
//   kube.allowAll()                                                  drops every forbid rule
//   kube.requests: RbacAttributes[]   every request as {user, verb, apiGroup, resource, subresource, namespace, name}
//                                      (a WebSocket exec records get and create on pods/exec)
//   kube.closeWatches()                server-side close of every open watch stream
//   kube.expireHistory({ notifyOpenWatches? })  compaction: older RVs get 410; optionally ERROR 410 mid-stream
//   kube.silence(on: boolean)           open watches carry nothing (no events, no bookmarks) until off
//   kube.openWatches: number
//   kube.onExec({namespace?, pod?, container?, run(ctx) => exitCode})   ctx: argv, stdout(), stderr(), signal
//   kube.onEphemeralContainer((pod, container) => boolean, async ({signal}) => ({exitCode, message?, reason?}))
//   kube.containerExited(namespace, pod, container, exitCode, reason)  the kubelet restarts it in place
//   kube.installChaosMesh(Partial<ChaosMeshOptions>)   serves chaos-mesh.org/v1alpha1 NetworkChaos, StressChaos,
//                                              PodChaos and runs the controller simulation
//                                              {injectDelayMs=100, recoverDelayMs=100, failInjection?(chaos)}
//   kube.loadCrd(crd)                   serves a CRD's kind; objects are validated against its openAPIV3Schema
//   kube.stop()                         closes watches, websockets, timers and the server
//   Constants: CLIENT_NODE_WATCH_INACTIVITY_MS = 30_000 (client-node 2 watch.js requestTimeoutMs).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { Authorizer, type ForbidRule, type RbacAttributes } from './authz.js';
import { CHAOS_TYPES, ChaosMeshController, type ChaosMeshOptions } from './chaos-mesh.js';
import { DisruptionController } from './disruption.js';
import { type ExecRule, ExecServer } from './exec.js';
import { type KubeconfigContext, writeKubeconfigFile } from './kubeconfig.js';
import { DEFAULT_BEHAVIOUR, type EphemeralProgram, Kubelet, type PodBehaviour } from './pods.js';
import { Resources, type ResourceType, storageKey } from './resources.js';
import { type RequestInfo, Router, requestInfo } from './router.js';
import { ApiError, type FieldError, invalid, notFoundPath, type Status, unauthorized } from './status.js';
import { type KubeObject, Store } from './store.js';
import { Timers } from './timers.js';
import { Watches } from './watch.js';
import { WorkloadControllers } from './workloads.js';

export type { ExecContext } from './exec.js';

/** client-node 2's Watch aborts a stream with no data for this long (watch.js requestTimeoutMs). */
export const CLIENT_NODE_WATCH_INACTIVITY_MS = 30_000;

const VERSION = { major: '1', minor: '34', gitVersion: 'v1.34.0', platform: 'linux/amd64' };

export interface KubeDoubleOptions {
  behaviour?: Partial<PodBehaviour>;
  bookmarkIntervalMs?: number;
  watchTimeoutSeconds?: number;
  users?: Record<string, string>;
}

export class KubeDouble {
  url = '';
  private readonly store = new Store();
  private readonly resources = new Resources();
  private readonly timers = new Timers();
  private readonly behaviours = new Map<string, Partial<PodBehaviour>>();
  private readonly authorizer = new Authorizer();
  private readonly users: Record<string, string>;
  private readonly watches: Watches;
  private readonly kubelet: Kubelet;
  private readonly workloads: WorkloadControllers;
  private readonly disruption: DisruptionController;
  private readonly exec: ExecServer;
  private readonly router: Router;
  private chaosMesh: ChaosMeshController | undefined;
  private readonly schemas = new Map<string, (object: unknown) => boolean>();
  private readonly ajv = addFormats
    .default(new Ajv({ strict: false, allErrors: true, verbose: true }))
    // OpenAPI's integer formats, which apiextensions accepts on integer fields.
    .addFormat('int32', true)
    .addFormat('int64', true);
  private server: Server | undefined;

  constructor(private readonly options: KubeDoubleOptions = {}) {
    this.users = options.users ?? { 'test-token': 'system:serviceaccount:default:chaosctl' };
    this.watches = new Watches(this.store, {
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      defaultTimeoutSeconds: options.watchTimeoutSeconds ?? 1800,
    });
    this.kubelet = new Kubelet(this.store, this.timers, (pod) => this.behaviourOf(pod));
    this.disruption = new DisruptionController(this.store, this.kubelet);
    this.exec = new ExecServer(this.store);
    this.router = new Router({
      store: this.store,
      resources: this.resources,
      watches: this.watches,
      kubelet: this.kubelet,
      disruption: this.disruption,
      authorizer: this.authorizer,
      userOf: (req) => this.userOf(req),
      validate: (type, object) => this.validate(type, object),
    });
    const podType = this.resources.find('', 'v1', 'pods') as ResourceType;
    this.workloads = new WorkloadControllers(this.store, this.kubelet, (pod) => {
      try {
        this.router.createObject(podType, pod.metadata.namespace, pod);
      } catch {
        // A refused create (admission) leaves the controller short, as a FailedCreate event does.
      }
    });
    this.store.create('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((error: unknown) => this.fail(res, error));
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.watches.stop();
    this.exec.stop();
    this.kubelet.stop();
    this.workloads.stop();
    this.disruption.stop();
    this.chaosMesh?.stop();
    this.timers.clear();
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }

  writeKubeconfig(path: string, contexts?: KubeconfigContext | KubeconfigContext[]): string {
    const user = Object.values(this.users)[0] ?? 'test';
    const list = contexts === undefined ? [{ context: 'test', user }] : [contexts].flat();
    const tokenOf = (name: string) =>
      Object.entries(this.users).find(([, u]) => u === name)?.[0] ?? this.addUser(name);
    return writeKubeconfigFile(path, this.url, tokenOf, list);
  }

  setBehaviour(namespace: string, workload: string, behaviour: Partial<PodBehaviour>): void {
    this.behaviours.set(`${namespace}/${workload}`, behaviour);
  }

  setPodPhase(
    namespace: string,
    name: string,
    status: { phase: string; reason?: string; message?: string },
  ): void {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    pod.status = { ...pod.status, ...status };
    for (const c of pod.status.conditions ?? [])
      if (c.type === 'Ready' || c.type === 'ContainersReady') c.status = 'False';
    this.store.update('pods', pod);
  }

  forbid(rule: ForbidRule): void {
    this.authorizer.forbid(rule);
  }

  allowAll(): void {
    this.authorizer.allowAll();
  }

  get requests(): RbacAttributes[] {
    return this.authorizer.requests;
  }

  get openWatches(): number {
    return this.watches.count;
  }

  closeWatches(): void {
    this.watches.closeAll();
  }

  expireHistory({ notifyOpenWatches = false } = {}): void {
    this.store.compact();
    if (notifyOpenWatches) this.watches.expireOpen();
  }

  silence(on: boolean): void {
    this.watches.setSilent(on);
  }

  onExec(rule: ExecRule): void {
    this.exec.onExec(rule);
  }

  /** A container's main process exited (a `kill 1`, an OOM kill): the kubelet restarts it in place. */
  containerExited(
    namespace: string,
    pod: string,
    container: string,
    exitCode: number,
    reason: string,
  ): boolean {
    return this.kubelet.containerExited(namespace, pod, container, exitCode, reason);
  }

  onEphemeralContainer(
    match: (pod: KubeObject, container: KubeObject) => boolean,
    run: EphemeralProgram,
  ): void {
    this.kubelet.onEphemeralContainer(match, run);
  }

  installChaosMesh(options: Partial<ChaosMeshOptions> = {}): void {
    for (const type of CHAOS_TYPES) this.resources.add(type);
    this.chaosMesh ??= new ChaosMeshController(this.store, this.timers, this.kubelet, {
      injectDelayMs: 100,
      recoverDelayMs: 100,
      ...options,
    });
  }

  /** Serves a CustomResourceDefinition's kind (storage version) and validates against its schema. */
  loadCrd(crd: KubeObject): void {
    const { group, names, scope, versions } = crd.spec;
    for (const v of versions ?? []) {
      const type: ResourceType = {
        group,
        version: v.name,
        resource: names.plural,
        kind: names.kind,
        namespaced: scope === 'Namespaced',
        verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
        subresources: Object.keys(v.subresources ?? {}),
        ...(names.shortNames ? { shortNames: names.shortNames } : {}),
        hasStatus: Boolean(v.subresources?.status),
      };
      this.resources.add(type);
      if (v.schema?.openAPIV3Schema) {
        this.schemas.set(`${storageKey(type)}/${v.name}`, this.ajv.compile(v.schema.openAPIV3Schema));
      }
    }
  }

  private addUser(name: string): string {
    const token = `token-${Object.keys(this.users).length}`;
    this.users[token] = name;
    return token;
  }

  private behaviourOf(pod: KubeObject): PodBehaviour {
    const { namespace, name, ownerReferences } = pod.metadata;
    const owner = (ownerReferences ?? []).find((r: KubeObject) => r.controller);
    let workload = owner?.name as string | undefined;
    if (owner?.kind === 'ReplicaSet') {
      const rs = this.store.get('replicasets.apps', namespace, owner.name);
      workload =
        (rs?.metadata.ownerReferences ?? []).find((r: KubeObject) => r.controller)?.name ?? owner.name;
    }
    return {
      ...DEFAULT_BEHAVIOUR,
      ...this.options.behaviour,
      ...(workload ? this.behaviours.get(`${namespace}/${workload}`) : {}),
      ...this.behaviours.get(`${namespace}/${name}`),
    };
  }

  /** structural schema validation of custom resources (apiextensions-apiserver/pkg/apiserver/validation). */
  private validate(type: ResourceType, object: KubeObject): void {
    const check = this.schemas.get(`${storageKey(type)}/${type.version}`) as
      | (((o: unknown) => boolean) & { errors?: ErrorObject[] | null })
      | undefined;
    if (!check || check(object)) return;
    const errors: FieldError[] = (check.errors ?? []).map((e) => {
      const base = e.instancePath.split('/').filter(Boolean).join('.');
      if (e.keyword === 'required') {
        const field = [base, (e.params as { missingProperty: string }).missingProperty]
          .filter(Boolean)
          .join('.');
        return { type: 'Required value', field, detail: '' };
      }
      if (e.keyword === 'enum') {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) =>
          JSON.stringify(v),
        );
        return {
          type: 'Unsupported value',
          field: base,
          detail: `supported values: ${allowed.join(', ')}`,
          value: e.data,
        };
      }
      return { type: 'Invalid value', field: base, detail: e.message ?? '', value: e.data };
    });
    throw invalid(type.kind, type.group, object.metadata?.name ?? '', errors);
  }

  private userOf(req: IncomingMessage): string | undefined {
    // A request without credentials is system:anonymous (--anonymous-auth, on by default:
    // k8s.io/apiserver/pkg/authentication/request/anonymous); kubectl and helm send none to a
    // plain-HTTP server (client-go tools/clientcmd/client_config.go reads the user's credentials
    // only for a TLS transport). A token that matches no user still fails: kube-apiserver puts
    // anonymous behind union.NewFailOnError (pkg/kubeapiserver/authenticator/config.go).
    if (req.headers.authorization === undefined) return 'system:anonymous';
    const token = /^Bearer (.+)$/.exec(req.headers.authorization)?.[1];
    return token ? this.users[token] : undefined;
  }

  private authorize(req: IncomingMessage, info: RequestInfo): void {
    const user = this.userOf(req);
    // A missing or unknown bearer token authenticates no one (staging/src/k8s.io/apiserver/pkg/
    // authentication/request/bearertoken/bearertoken.go); the authentication filter answers 401
    // "Unauthorized" (staging/src/k8s.io/apiserver/pkg/endpoints/filters/authentication.go).
    if (!user) throw unauthorized();
    if (info.discovery) return; // system:discovery is granted to every authenticated user
    const base = {
      user,
      apiGroup: info.type?.group ?? '',
      resource: info.type?.resource ?? '',
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
    };
    this.authorizer.authorize({ ...base, verb: info.verb });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    // GET /version: version.Info (k8s.io/apimachinery/pkg/version/types.go, served by
    // k8s.io/apiserver/pkg/server/routes/version.go), open to everyone through the
    // system:public-info-viewer ClusterRole; helm reads it for .Capabilities.KubeVersion.
    if (url.pathname === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(VERSION));
    }
    const info = requestInfo(req.method ?? 'GET', url, this.resources);
    this.authorize(req, info);
    if (info.discovery) {
      const { group, version, root } = info.discovery;
      const body =
        root === 'api'
          ? this.resources.coreVersions()
          : root === 'apis'
            ? this.resources.groupList()
            : version
              ? this.resources.resourceList(group, version)
              : this.resources.groupList().groups.find((g) => g.name === group);
      if (!body) throw notFoundPath();
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(body));
    }
    await this.router.handle(req, res, url, info);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      const url = new URL(req.url ?? '/', this.url);
      const info = requestInfo('GET', url, this.resources);
      if (info.type?.resource !== 'pods' || info.subresource !== 'exec') throw notFoundPath();
      this.authorize(req, info);
      // A WebSocket exec is a GET, but since KEP-4006 (AuthorizePodWebsocketUpgradeCreatePermission)
      // the apiserver also requires "create" on pods/exec, as the SPDY POST always did.
      this.authorizer.authorize({
        user: this.userOf(req) ?? '',
        verb: 'create',
        apiGroup: '',
        resource: 'pods',
        subresource: 'exec',
        namespace: info.namespace,
        name: info.name,
      });
      this.exec.upgrade(req, socket, head, info.namespace, info.name, url.searchParams);
    } catch (error) {
      const status = error instanceof ApiError ? error.status : notFoundPath().status;
      const body = JSON.stringify(status);
      socket.end(
        `HTTP/1.1 ${status.code} ${status.reason ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
  }

  private fail(res: ServerResponse, error: unknown): void {
    const status: Status =
      error instanceof ApiError
        ? error.status
        : {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `Internal error occurred: ${(error as Error).message}`,
            reason: 'InternalError',
            code: 500,
          };
    if (res.headersSent) return void res.end();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/writers.go ErrorNegotiated
    // sets Retry-After from details.retryAfterSeconds when it is > 0. Simplification: every 429
    // here carries the header, 10 s when the Status names no delay.
    if (status.code === 429) headers['retry-after'] = String(status.details?.retryAfterSeconds ?? 10);
    res.writeHead(status.code, headers);
    res.end(JSON.stringify(status));
  }
}
