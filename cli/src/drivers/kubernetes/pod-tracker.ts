// The pods of one target, kept current by client-node's informer (ListWatch): it lists, watches
// from the list's resourceVersion, re-lists after a 410 Gone, and reconnects when its watch is
// closed by the server or goes silent past the client's 30 s inactivity timer (watch.js
// requestTimeoutMs). It stops on any other error (cache.js doneHandler calls the error callbacks
// and returns), so a transient error is retried here a bounded number of times, and a refusal
// (401/403/404) fails the tracker: pods() then throws instead of serving a frozen map.
import { setTimeout as sleep } from 'node:timers/promises';
import { type CoreV1Api, type KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { kubeError, statusOf } from './cluster.js';

const RETRIES = 5;
const RETRY_DELAY_MS = 1000;

export class PodTracker {
  private readonly informer;
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();
  private retries = 0;
  private stopped = false;
  private starting = false;

  constructor(
    config: KubeConfig,
    core: CoreV1Api,
    private readonly namespace: string,
    private readonly selector: string,
  ) {
    this.informer = makeInformer<V1Pod>(
      config,
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector: selector }),
      selector,
    );
    this.informer.on('change', () => {
      this.retries = 0;
      this.notify();
    });
    this.informer.on('connect', () => this.notify());
    this.informer.on('error', (error: unknown) => void this.onError(error));
  }

  /** Lists and starts watching; a failure here (unreachable, 403 on list or watch) throws at once. */
  async start(): Promise<void> {
    this.starting = true;
    try {
      await this.informer.start();
    } finally {
      this.starting = false;
    }
    if (this.failure) throw this.failure;
  }

  /** The target's pods that can still serve or become ready: terminal phases are left out. */
  pods(): V1Pod[] {
    if (this.failure) throw this.failure;
    return this.informer
      .list(this.namespace)
      .filter((pod) => pod.status?.phase !== 'Failed' && pod.status?.phase !== 'Succeeded');
  }

  /** Resolves at the next change (or failure), or at the deadline. */
  changed(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.waiters.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    void this.informer.stop();
    this.notify();
  }

  private async onError(error: unknown): Promise<void> {
    const status = statusOf(error);
    const refused = status === 401 || status === 403 || status === 404;
    if (!refused && !this.starting && !this.stopped && this.retries < RETRIES) {
      this.retries++;
      await sleep(RETRY_DELAY_MS * this.retries);
      if (!this.stopped) await this.informer.start();
      return;
    }
    this.failure = kubeError(error, `watch pods (${this.selector}) in ${this.namespace}`);
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
