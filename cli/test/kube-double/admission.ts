// Pod Security Admission for the namespace label pod-security.kubernetes.io/enforce
// (k8s.io/pod-security-admission: admission/admission.go, policy/check_*.go; docs:
// concepts/security/pod-security-standards). A subset of the checks, with their upstream wording:
// baseline: host namespaces, privileged, non-default capabilities; restricted adds
// allowPrivilegeEscalation, unrestricted capabilities (drop ALL, add only NET_BIND_SERVICE),
// runAsNonRoot, runAsUser=0, seccompProfile. Baseline-level checks are reported before
// restricted-level ones, as upstream orders them. Applies to pod create and update and to the
// ephemeralcontainers subresource; the refusal is 403 Forbidden
// `pods "<name>" is forbidden: violates PodSecurity "<level>:<version>": <check> (<detail>), ...`.
import { forbidden } from './status.js';
import type { KubeObject } from './store.js';

// policy/check_capabilities_baseline.go
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const quote = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
const containersWord = (names: string[]) =>
  `${names.length === 1 ? 'container' : 'containers'} ${quote(names)}`;

function allContainers(spec: KubeObject): KubeObject[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

function baseline(spec: KubeObject): string[] {
  const out: string[] = [];
  const containers = allContainers(spec);
  const added: string[] = [];
  const adders: string[] = [];
  for (const c of containers) {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter(
      (cap: string) => !BASELINE_CAPABILITIES.has(cap),
    );
    if (extra.length) {
      adders.push(c.name);
      for (const cap of extra) if (!added.includes(cap)) added.push(cap);
    }
  }
  if (adders.length) {
    out.push(
      `non-default capabilities (${containersWord(adders)} must not include ${quote(added.sort())} in securityContext.capabilities.add)`,
    );
  }
  const hosts = ['hostNetwork', 'hostPID', 'hostIPC'].filter((h) => spec[h]).map((h) => `${h}=true`);
  if (hosts.length) out.push(`host namespaces (${hosts.join(', ')})`);
  const privileged = containers.filter((c) => c.securityContext?.privileged).map((c) => c.name);
  if (privileged.length) {
    out.push(`privileged (${containersWord(privileged)} must not set securityContext.privileged=true)`);
  }
  return out;
}

function restricted(spec: KubeObject): string[] {
  const out: string[] = [];
  const containers = allContainers(spec);
  const escalating = containers
    .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
    .map((c) => c.name);
  if (escalating.length) {
    out.push(
      `allowPrivilegeEscalation != false (${containersWord(escalating)} must set securityContext.allowPrivilegeEscalation=false)`,
    );
  }
  const noDrop = containers
    .filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'))
    .map((c) => c.name);
  const adders = containers.filter((c) =>
    (c.securityContext?.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE'),
  );
  const caps = [
    ...new Set(
      adders.flatMap((c) =>
        (c.securityContext.capabilities.add as string[]).filter((cap) => cap !== 'NET_BIND_SERVICE'),
      ),
    ),
  ].sort();
  const capDetails = [
    ...(noDrop.length
      ? [`${containersWord(noDrop)} must set securityContext.capabilities.drop=["ALL"]`]
      : []),
    ...(adders.length
      ? [
          `${containersWord(adders.map((c) => c.name))} must not include ${quote(caps)} in securityContext.capabilities.add`,
        ]
      : []),
  ];
  if (capDetails.length) out.push(`unrestricted capabilities (${capDetails.join('; ')})`);
  const podNonRoot = spec.securityContext?.runAsNonRoot === true;
  const explicitFalse = containers
    .filter((c) => c.securityContext?.runAsNonRoot === false)
    .map((c) => c.name);
  const unset = containers.filter((c) => c.securityContext?.runAsNonRoot === undefined).map((c) => c.name);
  if (explicitFalse.length || (!podNonRoot && unset.length)) {
    const details = [
      ...(explicitFalse.length
        ? [`${containersWord(explicitFalse)} must not set securityContext.runAsNonRoot=false`]
        : []),
      ...(!podNonRoot && unset.length
        ? [`pod or ${containersWord(unset)} must set securityContext.runAsNonRoot=true`]
        : []),
    ];
    out.push(`runAsNonRoot != true (${details.join('; ')})`);
  }
  const rootUsers = containers.filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
  if (spec.securityContext?.runAsUser === 0 || rootUsers.length) {
    const details = [
      ...(spec.securityContext?.runAsUser === 0 ? ['pod must not set runAsUser=0'] : []),
      ...(rootUsers.length ? [`${containersWord(rootUsers)} must not set runAsUser=0`] : []),
    ];
    out.push(`runAsUser=0 (${details.join('; ')})`);
  }
  const okSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
  const podSeccomp = okSeccomp(spec.securityContext?.seccompProfile?.type);
  const badSeccomp = containers
    .filter((c) =>
      c.securityContext?.seccompProfile ? !okSeccomp(c.securityContext.seccompProfile.type) : !podSeccomp,
    )
    .map((c) => c.name);
  if (badSeccomp.length) {
    out.push(
      `seccompProfile (pod or ${containersWord(badSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    );
  }
  return out;
}

/** Throws the 403 when the namespace enforces a level the pod violates. */
export function enforcePodSecurity(namespace: KubeObject | undefined, pod: KubeObject): void {
  const labels = namespace?.metadata?.labels ?? {};
  const level = labels['pod-security.kubernetes.io/enforce'];
  if (level !== 'baseline' && level !== 'restricted') return;
  const version = labels['pod-security.kubernetes.io/enforce-version'] ?? 'latest';
  const violations = [
    ...baseline(pod.spec ?? {}),
    ...(level === 'restricted' ? restricted(pod.spec ?? {}) : []),
  ];
  if (violations.length === 0) return;
  throw forbidden(
    { group: '', resource: 'pods' },
    pod.metadata.name,
    `violates PodSecurity "${level}:${version}": ${violations.join(', ')}`,
  );
}
