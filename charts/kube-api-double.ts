// A TEST DOUBLE of the Kubernetes API server, for the real helm and kubectl: no cluster can run
// here. It speaks the REST forms of https://kubernetes.io/docs/reference/using-api/api-concepts/
// for what those clients ask during `helm template --dry-run=server` (version, discovery, GET of
// each object, a `lookup`) and `kubectl get pods`: an object is at
// /api/v1[/namespaces/<ns>]/<resource>/<name> (core) or /apis/<group>/<version>/..., a collection
// answers a <Kind>List, and what does not exist is a 404 Status. Discovery is the legacy
// (unaggregated) form, which clients still accept when they list it in Accept, as helm and kubectl
// do. It is not Kubernetes: no validation, no OpenAPI (helm needs --disable-openapi-validation),
// no writes, no watch. Every request is recorded.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
}

// The kinds the chart renders (and kubectl's pods), as the API server lists them.
const RESOURCES: Record<string, Resource[]> = {
  v1: [
    { name: 'pods', kind: 'Pod', namespaced: true },
    { name: 'services', kind: 'Service', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
  ],
  'apps/v1': [
    { name: 'deployments', kind: 'Deployment', namespaced: true },
    { name: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  ],
  'policy/v1': [{ name: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true }],
  'networking.k8s.io/v1': [{ name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true }],
  'rbac.authorization.k8s.io/v1': [
    { name: 'roles', kind: 'Role', namespaced: true },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  ],
};

// biome-ignore lint/suspicious/noExplicitAny: stored Kubernetes objects are plain JSON.
type KubeObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
};

const base = (groupVersion: string) => (groupVersion === 'v1' ? '/api/v1' : `/apis/${groupVersion}`);

export class KubeApiDouble {
  readonly requests: string[] = [];
  private readonly objects: KubeObject[] = [];
  private server: Server | undefined;

  /** Adds an object as if it existed in the cluster. */
  put(object: KubeObject): void {
    this.objects.push(object);
  }

  clear(): void {
    this.objects.length = 0;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://double').pathname;
      // A missing object or path is a 404 with a Status body (api-concepts "Response status kind";
      // the shape of k8s.io/apimachinery/pkg/api/errors NewNotFound, simplified: no message or
      // details, since helm's `lookup` reads only the code as "not there"). Every write is
      // answered the same way: this double serves reads only.
      const notFound = () =>
        json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      if (req.method !== 'GET') return notFound();
      // GET /version: version.Info (k8s.io/apimachinery/pkg/version/types.go), which helm reads
      // for .Capabilities.KubeVersion.
      if (path === '/version')
        return json(200, { major: '1', minor: '34', gitVersion: 'v1.34.0', platform: 'linux/amd64' });
      // Legacy discovery (api-concepts "Discovery API", unaggregated form): /api lists the core
      // versions (APIVersions), /apis the groups (APIGroupList), /api/v1 and /apis/<gv> their
      // resources (APIResourceList): helm builds .Capabilities.APIVersions from these.
      if (path === '/api')
        return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      if (path === '/apis') {
        const groups = Object.keys(RESOURCES)
          .filter((gv) => gv !== 'v1')
          .map((groupVersion) => {
            const [name, version] = groupVersion.split('/') as [string, string];
            return {
              name,
              versions: [{ groupVersion, version }],
              preferredVersion: { groupVersion, version },
            };
          });
        return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      }
      for (const [groupVersion, resources] of Object.entries(RESOURCES)) {
        const prefix = base(groupVersion);
        if (path === prefix) {
          return json(200, {
            kind: 'APIResourceList',
            apiVersion: 'v1',
            groupVersion,
            resources: resources.map((r) => ({
              ...r,
              singularName: '',
              verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
            })),
          });
        }
        if (!path.startsWith(`${prefix}/`)) continue;
        const match = /^(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path.slice(prefix.length));
        const resource = resources.find((r) => r.name === match?.[2]);
        if (!match || !resource) return notFound();
        const [, namespace, , name] = match;
        const matching = this.objects.filter(
          (o) =>
            o.apiVersion === groupVersion &&
            o.kind === resource.kind &&
            (namespace === undefined || o.metadata.namespace === namespace),
        );
        // A collection is a <Kind>List carrying the list's resourceVersion (api-concepts
        // "Collections"); an object is the object itself.
        if (name === undefined) {
          return json(200, {
            kind: `${resource.kind}List`,
            apiVersion: groupVersion,
            metadata: { resourceVersion: '1' },
            items: matching,
          });
        }
        const object = matching.find((o) => o.metadata.name === name);
        return object ? json(200, object) : notFound();
      }
      notFound();
    });
    this.server = server;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((done) => this.server?.close(done));
  }
}

/** A kubeconfig whose one context reaches `server` without credentials. */
export const kubeconfig = (server: string, context: string) => `apiVersion: v1
kind: Config
clusters: [{ name: ${context}, cluster: { server: "${server}" } }]
users: [{ name: ${context}, user: {} }]
contexts: [{ name: ${context}, context: { cluster: ${context}, user: ${context} } }]
current-context: ${context}
`;
