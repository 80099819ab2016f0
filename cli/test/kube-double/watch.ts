// Watch streams (?watch=true), as the apiserver serves them through the watch cache
// (k8s.io/apiserver/pkg/storage/cacher/cacher.go Watch, watch_cache.go, cache_watcher.go) and the
// streaming handler (k8s.io/apiserver/pkg/endpoints/handlers/watch.go):
// - resourceVersion unset or "0": first a synthetic ADDED event for every existing object, then
//   live events ("Get State and Start at Most Recent/Any", docs: reference/using-api/api-concepts
//   #semantics-for-watch; watch_cache.go getIntervalFromStoreLocked).
// - resourceVersion N: every event after N, then live events. N older than the history window:
//   HTTP 200 and a single ERROR event carrying a 410 Expired Status "too old resource version:
//   N (oldest)", then the stream ends (cacher.go returns newErrWatcher(err) rather than an HTTP error).
// - A compaction while a stream is open (etcd-direct watches): ERROR 410 Expired "The
//   resourceVersion for the provided watch is too old." mid-stream, then the end
//   (etcd3/watcher.go, interpretWatchError on ErrCompacted).
// - Label-selector watches see an object that stops matching as DELETED and one that starts
//   matching as ADDED (cache_watcher.go convertToWatchEvent).
// - allowWatchBookmarks=true: periodic BOOKMARK events carrying only kind/apiVersion and the
//   current resourceVersion (cacher.go, bookmark frequency ~1 min upstream, configurable here).
// - timeoutSeconds: the server ends the stream when it elapses; unset, the apiserver uses a
//   random duration in [minRequestTimeout, 2*minRequestTimeout] (minRequestTimeout 1800 s,
//   k8s.io/apiserver/pkg/endpoints/handlers/get.go ListResource).
import type { ServerResponse } from 'node:http';
import { apiVersionOf, type ResourceType, storageKey } from './resources.js';
import { matches, type Selector } from './selectors.js';
import { expired, type Status } from './status.js';
import type { KubeObject, Store, StoreEvent } from './store.js';

export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  labelSelector: Selector;
  fieldFilter: (object: KubeObject) => boolean;
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
}

interface OpenWatch {
  request: WatchRequest;
  res: ServerResponse;
  /** Events held back while the server is told to stay silent. */
  held: string[];
  timers: NodeJS.Timeout[];
}

export interface WatchOptions {
  bookmarkIntervalMs: number;
  defaultTimeoutSeconds: number;
}

export class Watches {
  private readonly open = new Set<OpenWatch>();
  private silent = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly options: WatchOptions,
  ) {
    this.unsubscribe = store.subscribe((event) => {
      for (const watch of this.open) this.deliver(watch, event);
    });
  }

  get count(): number {
    return this.open.size;
  }

  serve(request: WatchRequest, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const watch: OpenWatch = { request, res, held: [], timers: [] };
    const rv = request.resourceVersion;
    const resource = storageKey(request.type);
    if (!rv || rv === '0') {
      for (const object of this.store.list(resource, request.namespace)) {
        if (this.selected(request, object)) this.write(watch, { type: 'ADDED', object });
      }
    } else {
      const since = Number(rv);
      // Simplification: upstream rejects a resourceVersion that is not an integer as invalid
      // (k8s.io/apiserver/pkg/storage/api_object_versioner.go ParseResourceVersion); here it is
      // answered like one older than the window, with the ERROR 410 below.
      const events = Number.isInteger(since) ? this.store.eventsSince(resource, since) : undefined;
      if (!events) {
        const oldest = this.store.oldestRevision - 1;
        this.write(watch, {
          type: 'ERROR',
          object: expired(`too old resource version: ${rv} (${oldest})`).status,
        });
        res.end();
        return;
      }
      for (const event of events) this.deliver(watch, event);
    }
    this.open.add(watch);
    res.on('close', () => this.forget(watch));
    // Simplification: without timeoutSeconds the stream ends after a fixed defaultTimeoutSeconds
    // (1800 s by default), not upstream's random [minRequestTimeout, 2*minRequestTimeout]
    // (handlers/get.go ListResource).
    const timeout = (request.timeoutSeconds ?? this.options.defaultTimeoutSeconds) * 1000;
    watch.timers.push(setTimeout(() => this.end(watch), timeout));
    if (request.allowBookmarks) {
      watch.timers.push(
        setInterval(() => {
          this.write(watch, {
            type: 'BOOKMARK',
            object: {
              kind: request.type.kind,
              apiVersion: apiVersionOf(request.type),
              metadata: { resourceVersion: String(this.store.currentRevision) },
            },
          });
        }, this.options.bookmarkIntervalMs),
      );
    }
  }

  /** Server-side close of every open stream (an apiserver restart or a load balancer cut). */
  closeAll(): void {
    for (const watch of [...this.open]) this.end(watch);
  }

  /** Mid-stream 410: every open stream gets an ERROR Expired event and ends. */
  expireOpen(): void {
    const status = expired('The resourceVersion for the provided watch is too old.').status;
    for (const watch of [...this.open]) {
      this.silentWrite(watch, { type: 'ERROR', object: status });
      this.end(watch);
    }
  }

  /** While silent, streams stay open but carry nothing (no events, no bookmarks). */
  setSilent(silent: boolean): void {
    this.silent = silent;
    if (!silent) {
      for (const watch of this.open) {
        for (const line of watch.held.splice(0)) watch.res.write(line);
      }
    }
  }

  stop(): void {
    this.unsubscribe();
    this.closeAll();
  }

  private selected(request: WatchRequest, object: KubeObject | undefined): boolean {
    return (
      object !== undefined &&
      (request.namespace === undefined || object.metadata.namespace === request.namespace) &&
      matches(request.labelSelector, object.metadata.labels) &&
      request.fieldFilter(object)
    );
  }

  private deliver(watch: OpenWatch, event: StoreEvent): void {
    const { request } = watch;
    if (event.resource !== storageKey(request.type)) return;
    const now = this.selected(request, event.object);
    const before = event.type !== 'ADDED' && this.selected(request, event.previous);
    if (event.type === 'DELETED') {
      if (before) this.write(watch, { type: 'DELETED', object: event.object });
    } else if (now && before) this.write(watch, { type: 'MODIFIED', object: event.object });
    else if (now) this.write(watch, { type: 'ADDED', object: event.object });
    else if (before) this.write(watch, { type: 'DELETED', object: event.object });
  }

  private write(watch: OpenWatch, event: { type: string; object: KubeObject | Status }): void {
    const line = `${JSON.stringify(event)}\n`;
    if (this.silent) watch.held.push(line);
    else watch.res.write(line);
  }

  private silentWrite(watch: OpenWatch, event: { type: string; object: Status }): void {
    watch.res.write(`${JSON.stringify(event)}\n`);
  }

  private end(watch: OpenWatch): void {
    this.forget(watch);
    watch.res.end();
  }

  private forget(watch: OpenWatch): void {
    for (const timer of watch.timers) clearTimeout(timer);
    this.open.delete(watch);
  }
}
