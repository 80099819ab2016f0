#!/usr/bin/env node
// CI only: the Chaos Mesh objects chaosctl creates must validate against Chaos Mesh's own CRD
// schemas, which live beside the project as test data (../shared/crds/chaos-mesh, copied unchanged
// from Chaos Mesh's Helm chart) and are not part of a user's clone: hence here and not in npm test.
// Needs `npm run build` (it imports the builders chaosctl's Chaos Mesh backend uses).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const crds = resolve(process.argv[2] ?? join(root, '../shared/crds/chaos-mesh'));
const { stressChaos } = await import(join(root, 'cli/dist/backends/chaos-mesh/objects.js'));
const { networkChaos } = await import(join(root, 'cli/dist/faults/network-delay/chaos-mesh.js'));
const { podChaos } = await import(join(root, 'cli/dist/faults/container-kill/chaos-mesh.js'));

// OpenAPI v3 schemas as the API server reads them: x-kubernetes-* extensions are annotations here.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addFormat('int32', true).addFormat('int64', true);
/** By `Kind/version`: the CRD's schema and its compiled validator. */
const kinds = new Map();
for (const file of [
  'chaos-mesh.org_networkchaos.yaml',
  'chaos-mesh.org_stresschaos.yaml',
  'chaos-mesh.org_podchaos.yaml',
]) {
  const crd = parse(readFileSync(join(crds, file), 'utf8'));
  for (const version of crd.spec.versions) {
    const schema = version.schema.openAPIV3Schema;
    kinds.set(`${crd.spec.names.kind}/${version.name}`, { validate: ajv.compile(schema), schema });
  }
}

const target = { namespace: 'shop', selector: 'app.kubernetes.io/name=inventory-service' };
const objects = [
  networkChaos({
    name: 'chaosctl-0a1b2c3d',
    target,
    callers: { namespace: 'shop', selector: 'app.kubernetes.io/name in (order-service,chaosctl)' },
    latencyMs: 300,
    jitterMs: 50,
    durationMs: 40_000,
  }),
  networkChaos({
    name: 'chaosctl-0a1b2c3e',
    target: { namespace: 'shop', selector: 'app=ledger,tier notin (cache),!canary' },
    callers: { namespace: 'shop', selector: 'app.kubernetes.io/name=order-service' },
    latencyMs: 100,
    jitterMs: 0,
    durationMs: 1000,
  }),
  // cpu-stress and memory-stress, as their Chaos Mesh backends set the stressors.
  stressChaos({
    name: 'chaosctl-0a1b2c3f',
    target,
    containerNames: ['inventory-service'],
    stressors: { cpu: { workers: 2, load: 100 } },
    durationMs: 40_000,
  }),
  stressChaos({
    name: 'chaosctl-0a1b2c40',
    target,
    stressors: { cpu: { workers: 64, load: 100 } },
    durationMs: 1000,
  }),
  stressChaos({
    name: 'chaosctl-0a1b2c41',
    target,
    containerNames: ['inventory-service'],
    stressors: { memory: { workers: 1, size: '256MB' } },
    durationMs: 40_000,
  }),
  stressChaos({
    name: 'chaosctl-0a1b2c42',
    target,
    stressors: { memory: { workers: 1, size: '80%' } },
    durationMs: 1000,
  }),
  podChaos({
    name: 'chaosctl-0a1b2c43',
    namespace: 'shop',
    pods: ['inventory-service-6585bd5556-7qlwl'],
    containerNames: ['inventory-service'],
  }),
];

/** Fields the schema does not declare: the API server drops them, or refuses them with fieldValidation=Strict. */
function unknownFields(value, schema, path) {
  if (!schema || typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value))
    return value.flatMap((item, i) => unknownFields(item, schema.items, `${path}[${i}]`));
  if (schema['x-kubernetes-preserve-unknown-fields'] || schema.additionalProperties) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    schema.properties?.[key]
      ? unknownFields(child, schema.properties[key], `${path}.${key}`)
      : [`${path}.${key}`],
  );
}

let failed = 0;
for (const object of objects) {
  const [, version] = object.apiVersion.split('/');
  const kind = kinds.get(`${object.kind}/${version}`);
  if (!kind) {
    console.error(`chaos-mesh: no CRD schema for ${object.kind} ${object.apiVersion} in ${crds}`);
    failed++;
    continue;
  }
  if (!kind.validate(object)) {
    console.error(
      `chaos-mesh: ${object.kind} ${object.metadata.name} is invalid: ${ajv.errorsText(kind.validate.errors)}`,
    );
    failed++;
    continue;
  }
  const unknown = unknownFields(object.spec, kind.schema.properties.spec, 'spec');
  if (unknown.length) {
    console.error(
      `chaos-mesh: ${object.kind} ${object.metadata.name} sets fields the CRD does not declare: ${unknown.join(', ')}`,
    );
    failed++;
  } else {
    console.log(`chaos-mesh: ${object.kind} ${object.metadata.name} validates against the CRD schema`);
  }
}
// A schema that accepted anything would prove nothing: a wrong object must be refused.
const wrong = { ...objects[0], spec: { ...objects[0].spec, direction: 'sideways' } };
if (kinds.get('NetworkChaos/v1alpha1')?.validate(wrong)) {
  console.error('chaos-mesh: the NetworkChaos schema accepted direction "sideways"');
  failed++;
}
console.log(
  `chaos-mesh: ${objects.length} objects and one wrong object checked against the CRD schemas, ${failed} problem(s)`,
);
process.exit(failed ? 1 : 0);
