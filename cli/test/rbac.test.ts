// The Role the chart ships for chaosctl must allow every call the kubernetes driver makes, and nothing it does not make.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';

const documents = parseAllDocuments(
  readFileSync(join(import.meta.dirname, '../../charts/chaos-platform/files/chaosctl-rbac.yaml'), 'utf8'),
).map((d) => d.toJS());
const role = documents.find((d) => d.kind === 'Role');

// Each call of drivers/kubernetes/kube-api.ts, as (API group, resource, verb).
const calls = [
  ['', 'pods', 'list'], // listPods
  ['', 'pods', 'watch'], // watchPods
  ['', 'pods', 'get'], // addEphemeralContainer reads the pod first
  ['', 'pods', 'delete'], // deletePod
  ['', 'pods/ephemeralcontainers', 'update'], // addEphemeralContainer (PUT)
  ['', 'pods/log', 'get'], // containerLog
  ['policy', 'poddisruptionbudgets', 'list'], // disruptionBudgets
];

const granted = (role.rules as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>).flatMap(
  (rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((resource) => rule.verbs.map((verb) => [group, resource, verb])),
    ),
);

describe("chaosctl's RBAC (charts/chaos-platform/files/chaosctl-rbac.yaml)", () => {
  it('is a namespaced Role bound to the chaosctl ServiceAccount', () => {
    expect(documents.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    const binding = documents.find((d) => d.kind === 'RoleBinding');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'chaosctl',
    });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'chaosctl' }]);
  });

  it('grants exactly what the driver calls', () => {
    expect(granted.map((g) => g.join(' ')).sort()).toEqual(calls.map((c) => c.join(' ')).sort());
    expect(granted.flat()).not.toContain('*');
  });
});
