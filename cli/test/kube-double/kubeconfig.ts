// Kubeconfig files pointing at the double. Plain HTTP: client-node only accepts an http:// server
// with insecure-skip-tls-verify set (its config.ts refuses otherwise), so every cluster has it.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigContext {
  /** Context name; also the cluster and user entry names. */
  context: string;
  namespace?: string;
  /** The user the API server authenticates this context as (its bearer token maps to it). */
  user: string;
}

/** Writes a kubeconfig whose contexts all reach `server`; returns `path`. */
export function writeKubeconfigFile(
  path: string,
  server: string,
  tokenOf: (user: string) => string,
  contexts: KubeconfigContext[],
): string {
  const yaml = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({
      name: c.context,
      cluster: { server, 'insecure-skip-tls-verify': true },
    })),
    users: contexts.map((c) => ({ name: c.context, user: { token: tokenOf(c.user) } })),
    contexts: contexts.map((c) => ({
      name: c.context,
      context: { cluster: c.context, user: c.context, ...(c.namespace ? { namespace: c.namespace } : {}) },
    })),
    'current-context': contexts[0]?.context ?? '',
  });
  writeFileSync(path, yaml);
  return path;
}
