// The API resources served, and discovery for them: GET /api, /api/v1, /apis, /apis/<g>/<v> as
// the apiserver's discovery handlers answer them (k8s.io/apiserver/pkg/endpoints/discovery:
// APIVersions, APIGroupList, APIResourceList), so a client can ask whether a group and kind exist.

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in the URL. */
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  subresources: string[];
  shortNames?: string[];
  /** The status subresource exists: /status writes only status, main writes ignore it. */
  hasStatus: boolean;
}

const all = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** A built-in kind with no subresources, as the kinds the chart renders besides workloads are. */
const plain = (group: string, resource: string, kind: string, shortNames?: string[]): ResourceType => ({
  group,
  version: 'v1',
  resource,
  kind,
  namespaced: true,
  verbs: all,
  subresources: [],
  ...(shortNames ? { shortNames } : {}),
  hasStatus: false,
});

export const BUILT_IN: ResourceType[] = [
  // The chart's other kinds, for helm's `--dry-run=server` (mapping each manifest through
  // discovery, GET of each object, a `lookup`): pkg/registry/core/{secret,configmap,serviceaccount},
  // pkg/registry/networking/networkpolicy, pkg/registry/rbac/{role,rolebinding}. Simplification:
  // serviceaccounts/token is not served.
  plain('', 'secrets', 'Secret'),
  plain('', 'configmaps', 'ConfigMap', ['cm']),
  plain('', 'serviceaccounts', 'ServiceAccount', ['sa']),
  plain('networking.k8s.io', 'networkpolicies', 'NetworkPolicy', ['netpol']),
  plain('rbac.authorization.k8s.io', 'roles', 'Role'),
  plain('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding'),
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
    shortNames: ['ns'],
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    kind: 'Pod',
    namespaced: true,
    verbs: all,
    subresources: ['status', 'eviction', 'exec', 'ephemeralcontainers', 'log'],
    shortNames: ['po'],
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    kind: 'Service',
    namespaced: true,
    verbs: all,
    subresources: ['status'],
    shortNames: ['svc'],
    hasStatus: true,
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    verbs: all,
    subresources: ['status', 'scale'],
    shortNames: ['deploy'],
    hasStatus: true,
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'replicasets',
    kind: 'ReplicaSet',
    namespaced: true,
    verbs: all,
    subresources: ['status', 'scale'],
    shortNames: ['rs'],
    hasStatus: true,
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'statefulsets',
    kind: 'StatefulSet',
    namespaced: true,
    verbs: all,
    subresources: ['status', 'scale'],
    shortNames: ['sts'],
    hasStatus: true,
  },
  {
    group: 'policy',
    version: 'v1',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    namespaced: true,
    verbs: all,
    subresources: ['status'],
    shortNames: ['pdb'],
    hasStatus: true,
  },
];

/** The storage key of a resource: "pods", "deployments.apps", as schema.GroupResource prints it. */
export const storageKey = (t: { group: string; resource: string }) =>
  t.group ? `${t.resource}.${t.group}` : t.resource;

export const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);

export class Resources {
  private readonly types: ResourceType[] = [...BUILT_IN];

  add(type: ResourceType): void {
    if (!this.find(type.group, type.version, type.resource)) this.types.push(type);
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  groupVersions(group: string): string[] {
    return [...new Set(this.types.filter((t) => t.group === group).map((t) => t.version))];
  }

  /** GET /api */
  coreVersions() {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
    };
  }

  /** GET /apis */
  groupList() {
    const groups = [...new Set(this.types.map((t) => t.group).filter(Boolean))];
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((name) => {
        const versions = this.groupVersions(name).map((version) => ({
          groupVersion: `${name}/${version}`,
          version,
        }));
        return { name, versions, preferredVersion: versions[0] };
      }),
    };
  }

  /** GET /api/v1 or /apis/<group>/<version>; undefined when the group/version is not served (404). */
  resourceList(group: string, version: string) {
    const types = this.types.filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: types.flatMap((t) => [
        {
          name: t.resource,
          singularName: t.kind.toLowerCase(),
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: t.verbs,
          ...(t.shortNames ? { shortNames: t.shortNames } : {}),
        },
        ...t.subresources.map((sub) => ({
          name: `${t.resource}/${sub}`,
          singularName: '',
          namespaced: t.namespaced,
          kind: subresourceKind(t, sub),
          verbs: subresourceVerbs(sub),
        })),
      ]),
    };
  }
}

const subresourceKind = (t: ResourceType, sub: string) =>
  ({ eviction: 'Eviction', exec: 'PodExecOptions', scale: 'Scale', log: 'Pod' })[sub] ?? t.kind;

const subresourceVerbs = (sub: string) =>
  ({ eviction: ['create'], exec: ['create', 'get'], log: ['get'] })[sub] ?? ['get', 'patch', 'update'];
