// PATCH bodies by content type, as the apiserver's patcher applies them
// (k8s.io/apiserver/pkg/endpoints/handlers/patch.go):
// - application/merge-patch+json: RFC 7386 (null deletes, objects merge, lists replace).
// - application/strategic-merge-patch+json: like merge patch, but lists with a patchMergeKey in
//   the Go types merge by that key (k8s.io/apimachinery/pkg/util/strategicpatch; keys from
//   k8s.io/api/core/v1/types.go, e.g. ephemeralContainers/containers by "name").
// - application/json-patch+json: RFC 6902 add/remove/replace/test.
import { badRequest, unsupportedMediaType } from './status.js';
import type { KubeObject } from './store.js';

// patchMergeKey tags of the fields that appear in the objects served here.
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  conditions: 'type',
  ownerReferences: 'uid',
  imagePullSecrets: 'name',
};

const isObject = (v: unknown): v is KubeObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function mergePatch(target: unknown, patch: unknown, strategic: boolean, field = ''): unknown {
  if (!isObject(patch)) {
    if (strategic && Array.isArray(patch) && Array.isArray(target) && MERGE_KEYS[field]) {
      return mergeList(target, patch, MERGE_KEYS[field]);
    }
    return patch;
  }
  const result: KubeObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (strategic && key === '$patch') continue;
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value, strategic, key);
  }
  return result;
}

function mergeList(target: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const result = [...target];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((existing) => isObject(existing) && existing[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) result[index] = mergePatch(result[index], item, true);
    else result.push(mergePatch({}, item, true));
  }
  return result;
}

function jsonPatch(target: KubeObject, operations: unknown): KubeObject {
  if (!Array.isArray(operations))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = structuredClone(target);
  for (const op of operations as KubeObject[]) {
    const path = String(op.path ?? '')
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = path.pop();
    // biome-ignore lint/suspicious/noExplicitAny: a JSON pointer walks objects and arrays alike.
    let parent: any = doc;
    // A path that does not resolve: patch.go applyJSPatch turns json-patch's Apply error into
    // 422 (errors.NewGenericServerResponse(http.StatusUnprocessableEntity, ...)). Simplification:
    // 400 BadRequest here, with a generic message.
    for (const part of path) {
      parent = parent?.[part];
      if (parent === undefined)
        throw badRequest(`the server rejected our request due to an error in our request`);
    }
    if (last === undefined) throw badRequest('jsonpatch: empty path');
    const index = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : undefined;
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent) && index !== undefined) parent.splice(index, 0, op.value);
        else parent[last] = op.value;
        break;
      case 'replace':
        parent[last] = op.value;
        break;
      case 'remove':
        if (Array.isArray(parent) && index !== undefined) parent.splice(index, 1);
        else delete parent[last];
        break;
      case 'test':
        // A failed test is json-patch's Apply error too: 422 upstream (patch.go applyJSPatch).
        // Simplification: 400 BadRequest here.
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) {
          throw badRequest(`the server rejected our request due to an error in our request`);
        }
        break;
      default:
        // Simplification: move and copy, which evanphx/json-patch (used by patch.go) applies, are
        // refused like an unknown op, with json-patch's "Unexpected kind" message as a 400.
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

export function applyPatch(contentType: string, target: KubeObject, body: unknown): KubeObject {
  const type = contentType.split(';')[0]?.trim();
  if (type === 'application/merge-patch+json') return mergePatch(target, body, false) as KubeObject;
  if (type === 'application/strategic-merge-patch+json') return mergePatch(target, body, true) as KubeObject;
  if (type === 'application/json-patch+json') return jsonPatch(target, body);
  throw unsupportedMediaType(type ?? '', [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
    'application/strategic-merge-patch+json',
  ]);
}
