// metav1.Status errors as the apiserver builds them: the constructors follow
// k8s.io/apimachinery/pkg/api/errors/errors.go (NewNotFound, NewConflict, NewInvalid, NewForbidden,
// NewTooManyRequests, NewResourceExpired, NewBadRequest, NewInternalError), so messages, reasons
// and details are the ones a client sees from a real cluster.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** A group/resource pair as schema.GroupResource prints it: "pods", "deployments.apps". */
export interface GroupResource {
  group: string;
  resource: string;
}

const qualified = ({ group, resource }: GroupResource) => (group ? `${resource}.${group}` : resource);

export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

const failure = (code: number, reason: string, message: string, details?: Status['details']) =>
  new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });

export const success = (code = 200): Status => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Success',
  code,
});

export const notFound = (gr: GroupResource, name: string) =>
  failure(404, 'NotFound', `${qualified(gr)} "${name}" not found`, {
    name,
    ...(gr.group ? { group: gr.group } : {}),
    kind: gr.resource,
  });

export const alreadyExists = (gr: GroupResource, name: string) =>
  failure(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
    name,
    ...(gr.group ? { group: gr.group } : {}),
    kind: gr.resource,
  });

/** errors.NewConflict: "Operation cannot be fulfilled on <resource> "<name>": <reason>". */
export const conflict = (gr: GroupResource, name: string, reason: string) =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${reason}`, {
    name,
    ...(gr.group ? { group: gr.group } : {}),
    kind: gr.resource,
  });

/** The optimistic-concurrency message of the registry's generic store (storage.NewResourceVersionConflictsError). */
export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

export interface FieldError {
  type: 'Forbidden' | 'Required value' | 'Invalid value' | 'Duplicate value' | 'Unsupported value';
  field: string;
  detail: string;
  value?: unknown;
}

const causeReason: Record<FieldError['type'], string> = {
  Forbidden: 'FieldValueForbidden',
  'Required value': 'FieldValueRequired',
  'Invalid value': 'FieldValueInvalid',
  'Duplicate value': 'FieldValueDuplicate',
  'Unsupported value': 'FieldValueNotSupported',
};

// field.Error.Error() / ErrorBody(): "<field>: <type>: <detail>", with the value except for
// Required and Forbidden errors.
const fieldErrorBody = (e: FieldError) =>
  e.type !== 'Required value' && e.type !== 'Forbidden' && e.value !== undefined
    ? `${e.type}: ${JSON.stringify(e.value)}${e.detail ? `: ${e.detail}` : ''}`
    : `${e.type}${e.detail ? `: ${e.detail}` : ''}`;

/** errors.NewInvalid: 422 with one cause per field error; a single error is printed bare, several in [..]. */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]) {
  const texts = errors.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const joined = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: errors.map((e) => ({ reason: causeReason[e.type], message: fieldErrorBody(e), field: e.field })),
  });
}

/** errors.NewForbidden: "<resource> ["<name>" ]is forbidden: <reason>". */
export const forbidden = (gr: GroupResource, name: string, reason: string) =>
  failure(403, 'Forbidden', `${qualified(gr)}${name ? ` "${name}"` : ''} is forbidden: ${reason}`, {
    ...(name ? { name } : {}),
    ...(gr.group ? { group: gr.group } : {}),
    kind: gr.resource,
  });

export const tooManyRequests = (message: string, retryAfterSeconds: number, causes: StatusCause[]) =>
  failure(429, 'TooManyRequests', message, { causes, retryAfterSeconds });

/** errors.NewResourceExpired: what a watch gets for a resourceVersion older than the history kept. */
export const expired = (message: string) => failure(410, 'Expired', message);

export const badRequest = (message: string) => failure(400, 'BadRequest', message);

export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized');

export const methodNotAllowed = (message: string) => failure(405, 'MethodNotAllowed', message);

// negotiation.NewUnsupportedMediaTypeError as the patch handler reports it.
export const unsupportedMediaType = (contentType: string, accepted: string[]) =>
  failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnsupportedMediaType', message: contentType }] },
  );

/** errors.NewInternalError: "Internal error occurred: <err>", the error repeated as the only cause. */
export const internalError = (message: string) =>
  failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });

export const notFoundPath = () =>
  failure(404, 'NotFound', 'the server could not find the requested resource');
