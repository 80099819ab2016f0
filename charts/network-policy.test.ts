// The evaluator against the examples of the Kubernetes documentation it follows
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/), with the outcome the
// documentation states for each.
import { describe, expect, it } from '@jest/globals';
import { allows, type Cluster, type NetworkPolicy, type Pod, selects } from './network-policy.js';

const namespaces = {
  default: { 'kubernetes.io/metadata.name': 'default' },
  myproject: { 'kubernetes.io/metadata.name': 'myproject', project: 'myproject' },
  alice: { 'kubernetes.io/metadata.name': 'alice', user: 'alice' },
  other: { 'kubernetes.io/metadata.name': 'other' },
};
const pod = (namespace: string, labels: Record<string, string>, ports: Pod['ports'] = []): Pod => ({
  namespace,
  labels,
  ports,
});

// The documentation's "test-network-policy" example, verbatim in substance.
const example: NetworkPolicy = {
  metadata: { name: 'test-network-policy', namespace: 'default' },
  spec: {
    podSelector: { matchLabels: { role: 'db' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        from: [
          { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
          { namespaceSelector: { matchLabels: { project: 'myproject' } } },
          { podSelector: { matchLabels: { role: 'frontend' } } },
        ],
        ports: [{ protocol: 'TCP', port: 6379 }],
      },
    ],
    egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 5978 }] }],
  },
};

describe('the documentation example test-network-policy', () => {
  const cluster: Cluster = { policies: [example], namespaces };
  const db = pod('default', { role: 'db' });

  it('admits role=frontend pods of its namespace, any pod of project=myproject namespaces, and the ipBlock, on TCP 6379', () => {
    expect(allows(cluster, pod('default', { role: 'frontend' }), db, 6379)).toBe(true);
    expect(allows(cluster, pod('myproject', { any: 'pod' }), db, 6379)).toBe(true);
    expect(allows(cluster, { ip: '172.17.0.9' }, db, 6379)).toBe(true);
  });

  it('refuses the excepted block, a frontend in another namespace, other ports and UDP', () => {
    expect(allows(cluster, { ip: '172.17.1.9' }, db, 6379)).toBe(false);
    expect(allows(cluster, pod('other', { role: 'frontend' }), db, 6379)).toBe(false);
    expect(allows(cluster, pod('default', { role: 'frontend' }), db, 6380)).toBe(false);
    expect(allows(cluster, pod('default', { role: 'frontend' }), db, 6379, 'UDP')).toBe(false);
  });

  it('lets the db out only to 10.0.0.0/24 on 5978, and leaves unselected pods alone', () => {
    expect(allows(cluster, db, { ip: '10.0.0.7' }, 5978)).toBe(true);
    expect(allows(cluster, db, { ip: '10.0.1.7' }, 5978)).toBe(false);
    expect(allows(cluster, db, pod('default', { role: 'frontend' }), 80)).toBe(false);
    expect(allows(cluster, pod('other', {}), pod('default', { role: 'cache' }), 1)).toBe(true);
  });
});

describe('the rules the documentation calls out', () => {
  it('a peer with namespaceSelector and podSelector is an AND; two peers are an OR', () => {
    const target = pod('default', { app: 'api' });
    const policy = (from: NetworkPolicy['spec']['ingress']): Cluster => ({
      namespaces,
      policies: [{ metadata: { name: 'p', namespace: 'default' }, spec: { podSelector: {}, ingress: from } }],
    });
    const and = policy([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { user: 'alice' } },
            podSelector: { matchLabels: { role: 'client' } },
          },
        ],
      },
    ]);
    const or = policy([
      {
        from: [
          { namespaceSelector: { matchLabels: { user: 'alice' } } },
          { podSelector: { matchLabels: { role: 'client' } } },
        ],
      },
    ]);
    expect(allows(and, pod('alice', { role: 'client' }), target, 80)).toBe(true);
    expect(allows(and, pod('alice', { role: 'server' }), target, 80)).toBe(false);
    expect(allows(and, pod('default', { role: 'client' }), target, 80)).toBe(false);
    expect(allows(or, pod('alice', { role: 'server' }), target, 80)).toBe(true);
    expect(allows(or, pod('default', { role: 'client' }), target, 80)).toBe(true);
  });

  it('default deny: an empty podSelector and no ingress rules isolate every pod of the namespace', () => {
    const cluster: Cluster = {
      namespaces,
      policies: [
        {
          metadata: { name: 'default-deny-ingress', namespace: 'default' },
          spec: { podSelector: {}, policyTypes: ['Ingress'] },
        },
      ],
    };
    expect(allows(cluster, pod('default', { a: 'b' }), pod('default', { c: 'd' }), 80)).toBe(false);
    expect(allows(cluster, pod('default', { a: 'b' }), pod('other', { c: 'd' }), 80)).toBe(true);
  });

  it('without policyTypes, an egress section makes the policy an egress policy too', () => {
    const cluster: Cluster = {
      namespaces,
      policies: [
        { metadata: { name: 'egress', namespace: 'default' }, spec: { podSelector: {}, egress: [] } },
      ],
    };
    expect(allows(cluster, pod('default', {}), pod('other', {}), 80)).toBe(false);
    // ... and an ingress policy with no rules: nothing comes in either.
    expect(allows(cluster, pod('other', {}), pod('default', {}), 80)).toBe(false);
  });

  it('a named port is the destination container port of that name; endPort makes a range', () => {
    const cluster: Cluster = {
      namespaces,
      policies: [
        {
          metadata: { name: 'ports', namespace: 'default' },
          spec: {
            podSelector: {},
            ingress: [{ ports: [{ port: 'http' }, { port: 32000, endPort: 32768 }] }],
          },
        },
      ],
    };
    const web = pod('default', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]);
    expect(allows(cluster, pod('other', {}), web, 8080)).toBe(true);
    expect(allows(cluster, pod('other', {}), web, 80)).toBe(false);
    expect(allows(cluster, pod('other', {}), pod('default', {}), 8080)).toBe(false);
    expect(allows(cluster, pod('other', {}), web, 32768)).toBe(true);
    expect(allows(cluster, pod('other', {}), web, 32769)).toBe(false);
  });

  it('set-based selectors: In, NotIn (true when the key is absent), Exists, DoesNotExist', () => {
    const selector = {
      matchExpressions: [
        { key: 'tier', operator: 'In' as const, values: ['web', 'api'] },
        { key: 'env', operator: 'NotIn' as const, values: ['prod'] },
        { key: 'team', operator: 'Exists' as const },
        { key: 'legacy', operator: 'DoesNotExist' as const },
      ],
    };
    expect(selects(selector, { tier: 'web', team: 'a' })).toBe(true);
    expect(selects(selector, { tier: 'web', team: 'a', env: 'prod' })).toBe(false);
    expect(selects(selector, { tier: 'db', team: 'a' })).toBe(false);
    expect(selects(selector, { tier: 'web' })).toBe(false);
    expect(selects(selector, { tier: 'web', team: 'a', legacy: 'yes' })).toBe(false);
    expect(selects({}, { anything: 'at-all' })).toBe(true);
  });
});
