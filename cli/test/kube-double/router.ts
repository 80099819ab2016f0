// The REST layer: paths parsed as requestinfo.go does, authorization, then the generic registry
// (k8s.io/apiserver/pkg/registry/generic/registry/store.go) for every resource, with the
// per-resource strategies the real registry has (pods, status subresources, eviction,
// ephemeralcontainers). Updates with a stale metadata.resourceVersion are 409 (store.go
// GuaranteedUpdate); main-resource writes keep the stored status where a status subresource
// exists (each strategy's PrepareForUpdate); dryRun=All runs everything and persists nothing
// (handlers/rest.go + registry dry-run); a create needs its namespace (NamespaceLifecycle admission).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { enforcePodSecurity } from './admission.js';
import type { Authorizer } from './authz.js';
import type { DisruptionController } from './disruption.js';
import { applyPatch } from './patch.js';
import {
  checkPreconditions,
  type DeleteOptions,
  defaultContainer,
  defaultPod,
  type Kubelet,
  PODS,
  randomSuffix,
} from './pods.js';
import { apiVersionOf, BUILT_IN, type Resources, type ResourceType, storageKey } from './resources.js';
import { matches, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  type FieldError,
  invalid,
  methodNotAllowed,
  notFound,
  notFoundPath,
  OBJECT_MODIFIED,
  unsupportedMediaType,
} from './status.js';
import { type KubeObject, rfc3339, type Store } from './store.js';
import type { Watches } from './watch.js';

export interface RequestInfo {
  verb: string;
  type?: ResourceType;
  namespace: string;
  name: string;
  subresource: string;
  /** Set for discovery paths. */
  discovery?: { group: string; version?: string; root?: 'api' | 'apis' };
}

/** requestinfo.go NewRequestInfo, for the paths served here. */
export function requestInfo(method: string, url: URL, resources: Resources): RequestInfo {
  const parts = url.pathname.split('/').filter(Boolean);
  const info: RequestInfo = { verb: '', namespace: '', name: '', subresource: '' };
  let rest: string[];
  let group = '';
  let version: string | undefined;
  if (parts[0] === 'api') {
    version = parts[1];
    rest = parts.slice(2);
    if (!version) return { ...info, verb: 'get', discovery: { group: '', root: 'api' } };
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
    if (!group) return { ...info, verb: 'get', discovery: { group: '', root: 'apis' } };
    if (!version) return { ...info, verb: 'get', discovery: { group } };
  } else throw notFoundPath();
  if (rest.length === 0) return { ...info, verb: 'get', discovery: { group, version } };
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    info.namespace = rest[1] ?? '';
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    info.name = rest[1] ?? '';
    info.namespace = info.name; // requestinfo.go: a namespace object's namespace is itself
    rest = ['namespaces'];
  }
  const type = resources.find(group, version, rest[0] ?? '');
  if (!type) throw notFoundPath();
  info.type = type;
  info.name ||= rest[1] ?? '';
  info.subresource = rest[2] ?? '';
  if (!type.namespaced && type.resource !== 'namespaces') info.namespace = '';
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  info.verb =
    {
      GET: info.name ? (watch ? 'watch' : 'get') : watch ? 'watch' : 'list',
      POST: 'create',
      PUT: 'update',
      PATCH: 'patch',
      DELETE: info.name ? 'delete' : 'deletecollection',
    }[method] ?? method.toLowerCase();
  return info;
}

/** Custom resources have no Go types, hence no strategic merge patch (415, apiextensions-apiserver). */
function patchContentType(type: ResourceType, contentType: string | undefined): string {
  const value = contentType ?? '';
  if (!BUILT_IN.includes(type) && value.startsWith('application/strategic-merge-patch+json')) {
    throw unsupportedMediaType(value, [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ]);
  }
  return value;
}

/**
 * The request body as JSON. A body that does not decode is 400 BadRequest, as the handlers'
 * decode step gives (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go and update.go:
 * transformDecodeError -> errors.NewBadRequest). Simplification: the message is "json: " and
 * Node's JSON.parse error, not the Go decoder's.
 */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`json: ${(error as Error).message}`);
  }
}

export interface RouterDeps {
  store: Store;
  resources: Resources;
  watches: Watches;
  kubelet: Kubelet;
  disruption: DisruptionController;
  authorizer: Authorizer;
  userOf: (req: IncomingMessage) => string | undefined;
  validate: (type: ResourceType, object: KubeObject) => void;
}

export class Router {
  constructor(private readonly d: RouterDeps) {}

  /** Creates through defaulting and admission, as every client (and controller) does. */
  createObject(type: ResourceType, namespace: string, body: KubeObject, dryRun = false): KubeObject {
    const key = storageKey(type);
    const object = structuredClone(body);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    object.metadata ??= {};
    if (!object.metadata.name && object.metadata.generateName) {
      object.metadata.name = `${object.metadata.generateName}${randomSuffix()}`;
    }
    if (!object.metadata.name) {
      throw invalid(type.kind, type.group, '', [
        { type: 'Required value', field: 'metadata.name', detail: 'name or generateName is required' },
      ]);
    }
    if (type.namespaced) {
      object.metadata.namespace = namespace;
      if (!this.d.store.get('namespaces', undefined, namespace)) {
        throw notFound({ group: '', resource: 'namespaces' }, namespace);
      }
    }
    for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation']) {
      delete object.metadata[field];
    }
    if (type.resource === 'pods') {
      defaultPod(object);
      enforcePodSecurity(this.d.store.get('namespaces', undefined, namespace), object);
    } else if (type.resource === 'namespaces') {
      // The namespace strategy sets phase Active and the immutable kubernetes.io/metadata.name label.
      object.metadata.labels = {
        ...object.metadata.labels,
        'kubernetes.io/metadata.name': object.metadata.name,
      };
      object.spec = { finalizers: ['kubernetes'] };
      object.status = { phase: 'Active' };
    } else if (type.hasStatus) object.status = {};
    this.d.validate(type, object);
    if (this.d.store.get(key, type.namespaced ? namespace : undefined, object.metadata.name)) {
      throw alreadyExists(type, object.metadata.name);
    }
    if (dryRun) return object;
    return this.d.store.create(key, object);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, info: RequestInfo): Promise<void> {
    const { store } = this.d;
    const type = info.type as ResourceType;
    const key = storageKey(type);
    const ns = type.namespaced ? info.namespace : undefined;
    const dryRun = url.searchParams.get('dryRun') === 'All';
    const method = req.method ?? 'GET';
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const existing = () => {
      const object = store.get(key, ns, info.name);
      if (!object) throw notFound(type, info.name);
      return object;
    };

    if (!info.name) {
      if (method === 'GET') {
        const labelSelector = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
        // Selectable fields: metadata.name/namespace for every resource (registry/generic
        // ObjectMetaFieldsSet), and for pods status.phase and spec.nodeName
        // (pkg/registry/core/pod/strategy.go ToSelectableFields). Simplification: the pod
        // strategy's other fields (spec.restartPolicy, status.podIP, ...) are not served.
        const fields = parseFieldSelector(url.searchParams.get('fieldSelector') ?? '', (f) =>
          [
            'metadata.name',
            'metadata.namespace',
            ...(type.resource === 'pods' ? ['status.phase', 'spec.nodeName'] : []),
          ].includes(f),
        );
        const fieldFilter = (o: KubeObject) =>
          fields.every(({ field, negate, value }) => {
            const actual = field.split('.').reduce<KubeObject | undefined>((v, k) => v?.[k], o) ?? '';
            return (actual === value) !== negate;
          });
        if (info.verb === 'watch') {
          const timeout = url.searchParams.get('timeoutSeconds');
          return this.d.watches.serve(
            {
              type,
              ...(ns ? { namespace: ns } : {}),
              labelSelector,
              fieldFilter,
              ...(url.searchParams.has('resourceVersion')
                ? { resourceVersion: url.searchParams.get('resourceVersion') as string }
                : {}),
              allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
              ...(timeout ? { timeoutSeconds: Number(timeout) } : {}),
            },
            res,
          );
        }
        const items = store
          .list(key, ns)
          .filter((o) => matches(labelSelector, o.metadata.labels) && fieldFilter(o));
        return send(200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(type),
          metadata: { resourceVersion: String(store.currentRevision) },
          items,
        });
      }
      if (method === 'POST') {
        const body = (await readJson(req)) as KubeObject;
        return send(201, this.createObject(type, info.namespace, body ?? {}, dryRun));
      }
      // A verb the collection does not serve: go-restful answers 405 for a method the installer
      // (staging/src/k8s.io/apiserver/pkg/endpoints/installer.go) registered no route for; the
      // message is StatusReasonMethodNotAllowed's (apimachinery/pkg/api/errors NewGenericServerResponse).
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }

    // Subresources with their own registry behaviour.
    if (type.resource === 'pods' && info.subresource === 'eviction' && method === 'POST') {
      const body = ((await readJson(req)) ?? {}) as KubeObject;
      return send(201, this.d.disruption.evict(info.namespace, info.name, body.deleteOptions ?? {}, dryRun));
    }
    // pods/exec without a WebSocket upgrade: the upgrade-aware proxy refuses it with 400
    // (staging/src/k8s.io/apimachinery/pkg/util/proxy/upgradeaware.go, UpgradeRequired).
    if (type.resource === 'pods' && info.subresource === 'exec') {
      throw badRequest('Upgrade request required');
    }
    if (type.resource === 'pods' && info.subresource === 'ephemeralcontainers') {
      if (method === 'GET') return send(200, existing());
      const current = existing();
      const body = (await readJson(req)) as KubeObject;
      const incoming =
        method === 'PATCH' ? applyPatch(req.headers['content-type'] ?? '', current, body) : body;
      return send(200, this.updateEphemeral(current, incoming ?? {}, dryRun));
    }
    if (info.subresource && info.subresource !== 'status') throw notFoundPath();

    if (method === 'GET') return send(200, existing());
    if (method === 'PUT' || method === 'PATCH') {
      const current = existing();
      const body = (await readJson(req)) as KubeObject;
      const incoming =
        method === 'PATCH'
          ? applyPatch(patchContentType(type, req.headers['content-type']), current, body)
          : (body ?? {});
      return send(200, this.update(type, current, incoming, info.subresource === 'status', dryRun));
    }
    if (method === 'DELETE') {
      const options = ((await readJson(req)) ?? {}) as DeleteOptions;
      const grace = url.searchParams.get('gracePeriodSeconds');
      if (grace !== null) options.gracePeriodSeconds = Number(grace);
      if (type.resource === 'pods')
        return send(200, this.d.kubelet.delete(info.namespace, info.name, options, dryRun));
      return send(200, this.deleteObject(type, existing(), options, dryRun));
    }
    // As for collections above: 405 for a verb with no route on the object (installer.go).
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  }

  private update(
    type: ResourceType,
    current: KubeObject,
    incoming: KubeObject,
    status: boolean,
    dryRun: boolean,
  ) {
    const key = storageKey(type);
    const rv = incoming.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion)
      throw conflict(type, current.metadata.name, OBJECT_MODIFIED);
    // The body's metadata.uid is a UID precondition (k8s.io/apiserver/pkg/registry/rest/update.go
    // defaultUpdatedObjectInfo.Preconditions) checked by storage Preconditions.Check
    // (k8s.io/apiserver/pkg/storage/interfaces.go) inside the generic store's Update: 409 Conflict.
    if (incoming.metadata?.uid && incoming.metadata.uid !== current.metadata.uid) {
      throw conflict(
        type,
        current.metadata.name,
        `Precondition failed: UID in precondition: ${incoming.metadata.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    let next: KubeObject;
    if (status) next = { ...current, status: incoming.status };
    else {
      next = { ...incoming, apiVersion: current.apiVersion, kind: current.kind };
      next.metadata = {
        ...incoming.metadata,
        name: current.metadata.name,
        ...(current.metadata.namespace ? { namespace: current.metadata.namespace } : {}),
        // Only the registry sets deletionTimestamp.
        ...(current.metadata.deletionTimestamp
          ? {
              deletionTimestamp: current.metadata.deletionTimestamp,
              deletionGracePeriodSeconds: current.metadata.deletionGracePeriodSeconds,
            }
          : {}),
      };
      if (type.hasStatus) next.status = current.status;
      if (type.resource === 'pods') {
        // Ephemeral containers change only through their subresource (pod strategy PrepareForUpdate).
        next.spec = { ...next.spec, ephemeralContainers: current.spec.ephemeralContainers };
        enforcePodSecurity(this.d.store.get('namespaces', undefined, current.metadata.namespace), next);
      }
      this.d.validate(type, next);
    }
    if (dryRun) return next;
    // The update that removes the last finalizer of a deleting object deletes it
    // (k8s.io/apiserver/pkg/registry/generic/registry/store.go Update / ShouldDeleteDuringUpdate).
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      return this.d.store.remove(key, current.metadata.namespace, current.metadata.name);
    }
    return this.d.store.update(key, next);
  }

  private deleteObject(type: ResourceType, object: KubeObject, options: DeleteOptions, dryRun: boolean) {
    checkPreconditions(type, object, options);
    const key = storageKey(type);
    if ((object.metadata.finalizers ?? []).length > 0) {
      // Finalizers hold the object: it only gets a deletionTimestamp (store.go updateForGracefulDeletionAndFinalizers).
      if (!object.metadata.deletionTimestamp) {
        object.metadata.deletionTimestamp = rfc3339();
        object.metadata.deletionGracePeriodSeconds = 0;
        if (!dryRun) return this.d.store.update(key, object);
      }
      return object;
    }
    if (dryRun) return object;
    return this.d.store.remove(key, object.metadata.namespace, object.metadata.name) ?? object;
  }

  /**
   * PUT/PATCH pods/<name>/ephemeralcontainers (pkg/registry/core/pod/storage EphemeralContainersREST,
   * strategy.go ephemeralContainersStrategy): only spec.ephemeralContainers is taken from the body;
   * ValidatePodEphemeralContainersUpdate (pkg/apis/core/validation/validation.go) refuses removing
   * or changing an existing one ("may not be removed" / "may not be changed"; upstream appends a
   * diff of the change to the latter, omitted here); names must be unique; PSA applies.
   */
  private updateEphemeral(current: KubeObject, incoming: KubeObject, dryRun: boolean): KubeObject {
    const name = current.metadata.name;
    const rv = incoming.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(PODS, name, OBJECT_MODIFIED);
    const wanted: KubeObject[] = (incoming.spec?.ephemeralContainers ?? []).map((c: KubeObject) =>
      defaultContainer(structuredClone(c)),
    );
    const old: KubeObject[] = current.spec.ephemeralContainers ?? [];
    const errors: FieldError[] = [];
    const byName = new Map(wanted.map((c) => [c.name, c]));
    for (const previous of old) {
      const now = byName.get(previous.name);
      if (!now) {
        errors.push({
          type: 'Forbidden',
          field: 'spec.ephemeralContainers',
          detail: `existing ephemeral containers "${previous.name}" may not be removed`,
        });
      } else if (JSON.stringify(sortKeys(now)) !== JSON.stringify(sortKeys(previous))) {
        errors.push({
          type: 'Forbidden',
          field: 'spec.ephemeralContainers',
          detail: `existing ephemeral containers "${previous.name}" may not be changed`,
        });
      }
    }
    const taken = new Set(
      [...(current.spec.containers ?? []), ...(current.spec.initContainers ?? [])].map((c) => c.name),
    );
    wanted.forEach((c, i) => {
      const field = `spec.ephemeralContainers[${i}]`;
      if (!c.name) errors.push({ type: 'Required value', field: `${field}.name`, detail: '' });
      else if (taken.has(c.name))
        errors.push({ type: 'Duplicate value', field: `${field}.name`, detail: '', value: c.name });
      taken.add(c.name);
      if (!c.image) errors.push({ type: 'Required value', field: `${field}.image`, detail: '' });
      for (const forbidden of [
        'ports',
        'livenessProbe',
        'readinessProbe',
        'startupProbe',
        'lifecycle',
        'resources',
      ]) {
        if (
          c[forbidden] !== undefined &&
          !(forbidden === 'resources' && Object.keys(c[forbidden]).length === 0)
        ) {
          errors.push({
            type: 'Forbidden',
            field: `${field}.${forbidden}`,
            detail: 'cannot be set for an Ephemeral Container',
          });
        }
      }
    });
    if (errors.length) throw invalid('Pod', '', name, errors);
    const next = structuredClone(current);
    next.spec.ephemeralContainers = wanted;
    enforcePodSecurity(this.d.store.get('namespaces', undefined, current.metadata.namespace), next);
    if (dryRun) return next;
    return this.d.store.update('pods', next);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
