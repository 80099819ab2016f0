// Which connections a set of NetworkPolicies (networking.k8s.io/v1) allows, for the chart tests: no
// cluster (and no CNI that enforces policies) runs here, so this evaluates the rendered objects the
// way the Kubernetes documentation defines them. Every rule below names the passage it follows:
//   [concepts] https://kubernetes.io/docs/concepts/services-networking/network-policies/
//   [api]      https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
//   [labels]   https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
// Not modelled (the chart does not rely on them): traffic from the pod's own node, which [concepts]
// says is always allowed, and a pod's connection to itself, which a policy cannot block.
import { BlockList, isIPv6 } from 'node:net';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }>;
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<'Ingress' | 'Egress'>;
    ingress?: Array<{ from?: Peer[]; ports?: PolicyPort[] }>;
    egress?: Array<{ to?: Peer[]; ports?: PolicyPort[] }>;
  };
}

export interface Pod {
  namespace: string;
  labels: Record<string, string>;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
}

/** Something outside the pod network, such as the Kubernetes API server's endpoint. */
export interface External {
  ip: string;
}

export type Endpoint = Pod | External;

export interface Cluster {
  policies: NetworkPolicy[];
  /** Namespace name → its labels. [labels]: the control plane sets kubernetes.io/metadata.name on every namespace. */
  namespaces: Record<string, Record<string, string>>;
}

const isPod = (endpoint: Endpoint): endpoint is Pod => 'labels' in endpoint;

/**
 * [labels] matchLabels and matchExpressions are ANDed; an empty selector ({}) selects everything.
 * In: the key exists with one of the values; NotIn: the key is absent or has none of them.
 */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key] as string);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key] as string);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        throw new Error(`unknown label selector operator ${operator as string}`);
    }
  });
  return byLabels && byExpressions;
}

/**
 * [api] policyTypes: "If this field is not specified, it will default based on the existence of
 * ingress or egress rules; policies that contain an egress section are assumed to affect egress,
 * and all policies (whether or not they contain an ingress section) are assumed to affect ingress."
 */
function policyTypes(policy: NetworkPolicy): Array<'Ingress' | 'Egress'> {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

/**
 * [concepts] A policy applies to the pods its podSelector selects in the policy's own namespace.
 * A pod is isolated for a direction when any policy of that type applies to it.
 */
function applying(cluster: Cluster, pod: Pod, type: 'Ingress' | 'Egress'): NetworkPolicy[] {
  return cluster.policies.filter(
    (policy) =>
      (policy.metadata.namespace ?? 'default') === pod.namespace &&
      selects(policy.spec.podSelector, pod.labels) &&
      policyTypes(policy).includes(type),
  );
}

/**
 * [api] NetworkPolicyPeer: podSelector alone selects pods in the policy's namespace;
 * namespaceSelector alone, every pod of the selected namespaces; both in one peer, the pods the
 * podSelector selects within the selected namespaces (an AND, where two peers are an OR).
 * ipBlock matches addresses outside the pod network ([concepts]: pod IPs are ephemeral and
 * "ipBlock ... should be cluster-external IPs"), so here only External endpoints.
 */
function peerMatches(cluster: Cluster, peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (isPod(other)) return false;
    const inBlock = (cidr: string) => {
      const [network = '', prefix = ''] = cidr.split('/');
      const family = isIPv6(network) ? 'ipv6' : 'ipv4';
      const block = new BlockList();
      block.addSubnet(network, Number(prefix), family);
      return block.check(other.ip, isIPv6(other.ip) ? 'ipv6' : 'ipv4');
    };
    return inBlock(peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some(inBlock);
  }
  if (!isPod(other)) return false;
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, cluster.namespaces[other.namespace] ?? {})
    : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, other.labels) : true;
  return namespaceOk && podOk;
}

/**
 * [api] NetworkPolicyPort: protocol defaults to TCP; no port means every port of that protocol;
 * endPort makes a range; a named port is looked up on the destination pod's containers (by name
 * and protocol). [api] ports: "If this field is empty or missing, this rule matches all ports".
 */
function portsMatch(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: string) {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') {
      return (
        isPod(destination) &&
        (destination.ports ?? []).some(
          (c) => c.name === p.port && (c.protocol ?? 'TCP') === protocol && c.containerPort === port,
        )
      );
    }
    return p.endPort === undefined ? p.port === port : p.port <= port && port <= p.endPort;
  });
}

/** Whether one rule of the policies applying to `pod` in this direction admits `other` on the port. */
function admitted(
  cluster: Cluster,
  pod: Pod,
  type: 'Ingress' | 'Egress',
  other: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: string,
): boolean {
  const policies = applying(cluster, pod, type);
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    (type === 'Ingress'
      ? (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
      : (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }))
    ).some(
      ({ peers, ports }) =>
        (!peers ||
          peers.length === 0 ||
          peers.some((peer) => peerMatches(cluster, peer, pod.namespace, other))) &&
        portsMatch(ports, destination, port, protocol),
    ),
  );
}

/**
 * [concepts] "For a connection from a source pod to a destination pod to be allowed, both the egress
 * policy on the source pod and the ingress policy on the destination pod need to allow the
 * connection." Policies are additive: one rule of any applying policy suffices; a pod no policy
 * of that type applies to is not isolated in that direction. [api] An empty or missing from/to
 * matches every peer; an empty ingress/egress list admits nothing.
 */
export function allows(
  cluster: Cluster,
  source: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP',
): boolean {
  const egressOk =
    !isPod(source) || admitted(cluster, source, 'Egress', destination, destination, port, protocol);
  const ingressOk =
    !isPod(destination) || admitted(cluster, destination, 'Ingress', source, destination, port, protocol);
  return egressOk && ingressOk;
}
