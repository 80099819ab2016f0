// Which cluster chaosctl acts on, and whether it can: the kubeconfig (or in-cluster service
// account), the context, the namespace, and one-line errors for everything that can be wrong
// before a fault is injected. Exit codes (errors.ts): 2 for configuration (no kubeconfig, an
// unreadable or invalid one, an unknown context, credentials or RBAC refused), 3 for an API server
// that cannot be reached.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CoreApi, KubeConfig } from '@kubernetes/client-node';
import { UnreachableError, UsageError } from '../../errors.js';
import { DEFAULT_NAMESPACE } from './namespace.js';

interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  /** Explicit namespace; otherwise the in-cluster pod's, the context's, or `chaos-platform`. */
  namespace?: string;
}

export interface Cluster {
  config: KubeConfig;
  context: string;
  clusterName: string;
  server: string;
  namespace: string;
  /** chaosctl runs in a pod with a service account (the chart's Job). */
  inCluster: boolean;
}

// Where client-node's loadFromCluster reads the pod's namespace.
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function loadCluster(opts: ClusterOptions): Cluster {
  const config = new KubeConfig();
  const files = opts.kubeconfig
    ? [opts.kubeconfig]
    : (process.env.KUBECONFIG ?? '').split(':').filter(Boolean);
  const home = join(homedir(), '.kube', 'config');
  let inCluster = false;
  if (files.length > 0) {
    for (const [index, file] of files.entries()) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new UsageError(`cannot read kubeconfig ${file}: ${code}`);
      }
      const loaded = index === 0 ? config : new KubeConfig();
      try {
        loaded.loadFromString(text);
      } catch (error) {
        throw new UsageError(`${file} is not a valid kubeconfig: ${firstLine(error)}`);
      }
      if (loaded !== config) config.mergeConfig(loaded);
    }
  } else if (existsSync(home)) {
    try {
      config.loadFromFile(home);
    } catch (error) {
      throw new UsageError(`${home} is not a valid kubeconfig: ${firstLine(error)}`);
    }
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    config.loadFromCluster();
    inCluster = true;
  } else {
    // client-node would fall back to http://localhost:8080 and fail with a TLS message.
    throw new UsageError(
      'no kubeconfig: set KUBECONFIG, pass --kubeconfig, or run chaosctl inside the cluster (for the local platform: --driver local)',
    );
  }

  if (opts.context) {
    if (!config.getContextObject(opts.context)) {
      const known = config.getContexts().map((c) => c.name);
      throw new UsageError(
        `no context '${opts.context}' in the kubeconfig (it has: ${known.join(', ') || 'none'})`,
      );
    }
    config.setCurrentContext(opts.context);
  }
  const context = config.getCurrentContext();
  const contextObject = config.getContextObject(context);
  const cluster = config.getCurrentCluster();
  if (!contextObject || !cluster) {
    throw new UsageError(
      context
        ? `kubeconfig context '${context}' names no cluster`
        : 'the kubeconfig has no current context: pass --context',
    );
  }
  if (cluster.server.startsWith('http://') && !cluster.skipTLSVerify) {
    throw new UsageError(
      `cluster ${cluster.name} is served over plain HTTP (${cluster.server}); the Kubernetes client refuses that without insecure-skip-tls-verify`,
    );
  }
  return {
    config,
    context,
    clusterName: cluster.name,
    server: cluster.server,
    namespace:
      opts.namespace ??
      (inCluster ? readOptional(SERVICE_ACCOUNT_NAMESPACE) : undefined) ??
      contextObject.namespace ??
      DEFAULT_NAMESPACE,
    inCluster,
  };
}

/** Checks the API server answers and accepts the credentials; says where chaosctl will act. */
export async function connect(cluster: Cluster): Promise<string> {
  try {
    // Discovery (GET /api) is served to every authenticated user (the system:discovery role).
    await cluster.config.makeApiClient(CoreApi).getAPIVersions();
  } catch (error) {
    throw kubeError(error, `reach the API server of cluster ${cluster.clusterName} (${cluster.server})`);
  }
  return `cluster ${cluster.clusterName} (${cluster.server}), context ${cluster.context}, namespace ${cluster.namespace}`;
}

/** The HTTP status of a client-node error: ApiException.code, Watch's statusCode, or undefined. */
export function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The Status message the API server sent with an error, when it sent one. */
function statusMessage(error: unknown): string | undefined {
  let body: unknown = (error as { body?: unknown })?.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim() || undefined;
    }
  }
  const message = (body as { message?: unknown })?.message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * One line for a failed call: an unreachable server is an UnreachableError (exit 3); refused
 * credentials or RBAC a UsageError (exit 2: fix the kubeconfig or the Role); anything else keeps
 * the server's own message.
 */
export function kubeError(error: unknown, doing: string): Error {
  const status = statusOf(error);
  const message = statusMessage(error);
  if (status === undefined) {
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const why = cause?.code ?? cause?.message ?? firstLine(error);
    return new UnreachableError(`cannot ${doing}: ${why}`);
  }
  if (status === 401)
    return new UsageError(`cannot ${doing}: the API server refused the credentials (401 Unauthorized)`);
  if (status === 403)
    return new UsageError(
      `cannot ${doing}: forbidden${message ? ` (${message})` : ''}; grant it with the chart's chaosctl Role (docs/chaosctl.md)`,
    );
  return new ApiCallError(`cannot ${doing}: ${status} ${message ?? firstLine(error)}`, status);
}

/** A call the API server answered with an error status (409 conflict, 422 invalid, 429...). */
export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? '';
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
