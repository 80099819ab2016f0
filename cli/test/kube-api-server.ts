// A TEST DOUBLE of the Kubernetes API server: no cluster can run here, so this speaks the real
// REST and watch protocol for the calls chaosctl makes, over real HTTP, and behaves like a
// ReplicaSet: a deleted pod disappears (DELETED event) and a successor appears (ADDED, not ready)
// and becomes Ready shortly after (MODIFIED). Ephemeral containers are recorded; a container's log
// is whatever the test sets. It is not Kubernetes: it is only as faithful as these calls need.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Pod {
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    resourceVersion: string;
    uid: string;
  };
  spec: {
    containers: Array<{ name: string; image: string }>;
    ephemeralContainers: Array<Record<string, unknown>>;
  };
  status: {
    conditions: Array<{ type: string; status: string }>;
    containerStatuses: Array<{ name: string; restartCount: number }>;
  };
}

type Event = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Pod };

export class FakeKubeApi {
  readonly pods = new Map<string, Pod>();
  readonly deleted: string[] = [];
  readonly ephemeral: Array<{ pod: string; container: Record<string, unknown> }> = [];
  readonly logs = new Map<string, string>();
  private server: Server | undefined;
  private version = 1;
  private readonly watchers = new Set<{
    namespace: string;
    selector: Record<string, string>;
    res: ServerResponse;
  }>();
  url = '';

  constructor(private readonly replaceAfterMs = { created: 200, ready: 400 }) {}

  readonly budgets: Array<{ namespace: string; app: string }> = [];

  /** Pods with a readiness probe and, unless told otherwise, a PodDisruptionBudget. */
  addDeployment(
    namespace: string,
    app: string,
    replicas: number,
    { budget = true, readinessProbe = true } = {},
  ): void {
    for (let i = 0; i < replicas; i++) this.createPod(namespace, app, true, readinessProbe);
    if (budget) this.budgets.push({ namespace, app });
    this.probes.set(app, readinessProbe);
  }

  private readonly probes = new Map<string, boolean>();

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) =>
        this.send(res, 500, { kind: 'Status', message: error.message }),
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A kubeconfig pointing at this server, as kubectl would read it. */
  writeKubeconfig(path: string): string {
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        // Plain HTTP: client-node only allows it with insecure-skip-tls-verify.
        `clusters: [{ name: test, cluster: { server: "${this.url}", insecure-skip-tls-verify: true } }]`,
        'users: [{ name: test, user: { token: test-token } }]',
        'contexts: [{ name: test, context: { cluster: test, user: test } }]',
        'current-context: test',
      ].join('\n'),
    );
    return path;
  }

  async stop(): Promise<void> {
    for (const watcher of this.watchers) watcher.res.end();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private createPod(
    namespace: string,
    app: string,
    ready: boolean,
    readinessProbe = this.probes.get(app) ?? true,
  ): Pod {
    const name = `${app}-${randomBytes(3).toString('hex')}`;
    const pod: Pod = {
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/name': app },
        resourceVersion: String(this.version++),
        uid: name,
      },
      spec: {
        containers: [
          {
            name: app,
            image: `chaos-platform/${app}:test`,
            ...(readinessProbe ? { readinessProbe: { httpGet: { path: '/readyz', port: 5000 } } } : {}),
          },
        ],
        ephemeralContainers: [],
      },
      status: {
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [{ name: app, restartCount: 0 }],
      },
    };
    this.pods.set(name, pod);
    this.emit({ type: 'ADDED', object: pod });
    return pod;
  }

  private emit(event: Event): void {
    for (const watcher of this.watchers) {
      if (watcher.namespace === event.object.metadata.namespace && matches(event.object, watcher.selector)) {
        watcher.res.write(`${JSON.stringify(event)}\n`);
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const budgets = /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets$/.exec(url.pathname);
    if (budgets && req.method === 'GET') {
      const items = this.budgets
        .filter((b) => b.namespace === budgets[1])
        .map((b) => ({
          metadata: { name: b.app, namespace: b.namespace },
          spec: { minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': b.app } } },
        }));
      return this.send(res, 200, {
        kind: 'PodDisruptionBudgetList',
        apiVersion: 'policy/v1',
        metadata: {},
        items,
      });
    }
    const parts = url.pathname.split('/').filter(Boolean); // api v1 namespaces <ns> pods [<name> [sub]]
    const [api, v1, namespaces, namespace, pods, name, sub] = parts;
    if (api !== 'api' || v1 !== 'v1' || namespaces !== 'namespaces' || pods !== 'pods' || !namespace) {
      return this.send(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    }
    const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
    if (!name && req.method === 'GET' && url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const watcher = { namespace, selector, res };
      this.watchers.add(watcher);
      req.on('close', () => this.watchers.delete(watcher));
      return;
    }
    if (!name && req.method === 'GET') {
      const items = [...this.pods.values()].filter(
        (p) => p.metadata.namespace === namespace && matches(p, selector),
      );
      return this.send(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.version) },
        items,
      });
    }
    const pod = name ? this.pods.get(name) : undefined;
    if (!pod)
      return this.send(res, 404, {
        kind: 'Status',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: `pods "${name}" not found`,
      });
    if (req.method === 'GET' && !sub) return this.send(res, 200, pod);
    if (req.method === 'GET' && sub === 'log') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(this.logs.get(url.searchParams.get('container') ?? '') ?? '');
    }
    if (req.method === 'DELETE' && !sub) {
      this.pods.delete(pod.metadata.name);
      this.deleted.push(pod.metadata.name);
      this.emit({ type: 'DELETED', object: pod });
      const app = pod.metadata.labels['app.kubernetes.io/name'] ?? 'app';
      setTimeout(() => {
        const successor = this.createPod(namespace, app, false);
        setTimeout(() => {
          successor.status.conditions = [{ type: 'Ready', status: 'True' }];
          successor.metadata.resourceVersion = String(this.version++);
          this.emit({ type: 'MODIFIED', object: successor });
        }, this.replaceAfterMs.ready);
      }, this.replaceAfterMs.created);
      return this.send(res, 200, pod);
    }
    if (req.method === 'PUT' && sub === 'ephemeralcontainers') {
      const body = JSON.parse(await readBody(req)) as Pod;
      const known = new Set(pod.spec.ephemeralContainers.map((c) => c.name));
      for (const container of body.spec.ephemeralContainers ?? []) {
        if (!known.has(container.name)) this.ephemeral.push({ pod: pod.metadata.name, container });
      }
      pod.spec.ephemeralContainers = body.spec.ephemeralContainers ?? [];
      return this.send(res, 200, pod);
    }
    return this.send(res, 405, { kind: 'Status', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

function parseSelector(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
}

const matches = (pod: Pod, selector: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => pod.metadata.labels[key] === value);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
