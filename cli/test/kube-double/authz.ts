// Authorization as the apiserver sees a request: the RBAC attributes of
// k8s.io/apiserver/pkg/endpoints/request/requestinfo.go (verb get/list/watch/create/update/patch/
// delete/deletecollection, apiGroup, resource, subresource, namespace, name), and the 403 body of
// k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage:
// `<resource> is forbidden: User "<user>" cannot <verb> resource "<resource[/sub]>" in API group
// "<group>" in the namespace "<ns>"`.
import { forbidden } from './status.js';

export interface RbacAttributes {
  user: string;
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface ForbidRule {
  verb: string;
  group: string;
  /** "pods" or "pods/eviction"; "*" for any. */
  resource: string;
  user?: string;
  namespace?: string;
}

export class Authorizer {
  readonly requests: RbacAttributes[] = [];
  private readonly rules: ForbidRule[] = [];

  forbid(rule: ForbidRule): void {
    this.rules.push(rule);
  }

  allowAll(): void {
    this.rules.length = 0;
  }

  /** Records the request, then throws the 403 if a rule forbids it. */
  authorize(attributes: RbacAttributes): void {
    this.requests.push(attributes);
    const full = attributes.subresource
      ? `${attributes.resource}/${attributes.subresource}`
      : attributes.resource;
    const denied = this.rules.some(
      (r) =>
        (r.verb === '*' || r.verb === attributes.verb) &&
        (r.group === '*' || r.group === attributes.apiGroup) &&
        (r.resource === '*' || r.resource === full) &&
        (!r.user || r.user === attributes.user) &&
        (!r.namespace || r.namespace === attributes.namespace),
    );
    if (!denied) return;
    const where = attributes.namespace
      ? `in the namespace "${attributes.namespace}"`
      : 'at the cluster scope';
    throw forbidden(
      { group: attributes.apiGroup, resource: attributes.resource },
      attributes.name,
      `User "${attributes.user}" cannot ${attributes.verb} resource "${full}" in API group "${attributes.apiGroup}" ${where}`,
    );
  }
}
