import type { V1Pod } from '@kubernetes/client-node';

/** The container a fault acts in: the one named like the service, else the pod's first. */
export function targetContainer(pod: V1Pod, service: string): string {
  const containers = pod.spec?.containers ?? [];
  return (containers.find((c) => c.name === service) ?? containers[0])?.name ?? service;
}
