// The object store: what etcd plus the registry's generic store give every resource.
// - One global revision counter: every write gets the next resourceVersion, whatever its kind
//   (etcd's store revision, k8s.io/apiserver/pkg/storage/etcd3/store.go; RVs are opaque to
//   clients but are integers here, as they are on a real cluster).
// - metadata.uid, creationTimestamp and generation=1 are set on create
//   (k8s.io/apiserver/pkg/registry/rest/create.go FillObjectMetaSystemFields, and each strategy's
//   PrepareForCreate); generation is bumped when spec changes (each strategy's PrepareForUpdate).
// - A DELETED event carries the object at the deletion revision (etcd3/watcher.go).
// - A window of past events serves watches from an older resourceVersion; older than the window is
//   410 Expired (k8s.io/apiserver/pkg/storage/cacher/watch_cache.go getAllEventsSinceLocked).
import { randomUUID } from 'node:crypto';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are schemaless JSON here, as in the apiserver's unstructured path.
export type KubeObject = Record<string, any>;

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  type: EventType;
  resource: string;
  object: KubeObject;
  /** The object before this change (for selector transitions in watches). */
  previous?: KubeObject;
  revision: number;
}

/**
 * A metav1.Time as the apiserver serialises it: RFC 3339 in UTC with whole seconds
 * (k8s.io/apimachinery/pkg/apis/meta/v1/time.go MarshalJSON). `ms` defaults to now.
 */
export const rfc3339 = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

const key = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
const clone = <T>(value: T): T => structuredClone(value);

export class Store {
  private revision = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** The oldest revision a watch may resume from; older ones get 410. */
  private floor = 1;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  /**
   * Bounded like the watch cache's window (watch_cache.go: per resource, sized between
   * defaultLowerBoundCapacity 100 and defaultUpperBoundCapacity 100*1024 events). Simplification:
   * one window of 10_000 events shared by every resource.
   */
  constructor(private readonly historyLimit = 10_000) {}

  get currentRevision(): number {
    return this.revision;
  }

  get oldestRevision(): number {
    return this.floor;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const object = this.objects.get(resource)?.get(key(namespace, name));
    return object && clone(object);
  }

  list(resource: string, namespace?: string): KubeObject[] {
    return [...(this.objects.get(resource)?.values() ?? [])]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) =>
        key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)),
      )
      .map(clone);
  }

  create(resource: string, object: KubeObject): KubeObject {
    const stored = clone(object);
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = rfc3339();
    stored.metadata.generation = 1;
    return this.write(resource, stored, 'ADDED', undefined);
  }

  /** Writes a new state of an existing object; generation follows spec changes. */
  update(resource: string, object: KubeObject): KubeObject {
    const { namespace, name } = object.metadata;
    const previous = this.objects.get(resource)?.get(key(namespace, name));
    if (!previous) throw new Error(`update of missing ${resource} ${namespace}/${name}`);
    const stored = clone(object);
    stored.metadata.uid = previous.metadata.uid;
    stored.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    stored.metadata.generation =
      JSON.stringify(previous.spec) === JSON.stringify(stored.spec)
        ? previous.metadata.generation
        : previous.metadata.generation + 1;
    return this.write(resource, stored, 'MODIFIED', previous);
  }

  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const objects = this.objects.get(resource);
    const previous = objects?.get(key(namespace, name));
    if (!objects || !previous) return undefined;
    objects.delete(key(namespace, name));
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(++this.revision);
    this.record({ type: 'DELETED', resource, object: gone, previous, revision: this.revision });
    return clone(gone);
  }

  /** Events after `revision` for a resource; undefined when that revision is older than the window. */
  eventsSince(resource: string, revision: number): StoreEvent[] | undefined {
    if (revision < this.floor - 1) return undefined;
    return this.history.filter((e) => e.resource === resource && e.revision > revision);
  }

  /** Forget all history, as a compaction (or a watch-cache re-initialisation) does. */
  compact(): void {
    this.history = [];
    this.floor = this.revision + 1;
  }

  private write(resource: string, stored: KubeObject, type: EventType, previous: KubeObject | undefined) {
    stored.metadata.resourceVersion = String(++this.revision);
    let objects = this.objects.get(resource);
    if (!objects) {
      objects = new Map();
      this.objects.set(resource, objects);
    }
    objects.set(key(stored.metadata.namespace, stored.metadata.name), stored);
    this.record({ type, resource, object: clone(stored), previous, revision: this.revision });
    return clone(stored);
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.floor = (dropped.at(-1)?.revision ?? this.floor) + 1;
    }
    for (const listener of [...this.listeners]) listener(event);
  }
}
