// A suite's target: how Kubernetes finds it, where traffic enters it, how the local driver runs it.
// Apart from schema.ts (which reaches the faults, and through them the drivers) so that the drivers
// can name it.
import { type Static, Type } from 'typebox';
import { KubeName, Text } from '../experiments/fields.js';
import { LocalRunSchema } from './local-run.js';

const WORKLOAD = '^(deployment|statefulset)/[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const HTTP_URL = '^https?://[^\\s/]+(/\\S*)?$';

export const TargetSchema = Type.Object(
  {
    /** Kubernetes: label selector of its pods (default app.kubernetes.io/name=<target>). */
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    /** Kubernetes: the Deployment or StatefulSet that owns the pods (its desired replicas are capacity). */
    workload: Type.Optional(Text(WORKLOAD, 'deployment/<name> or statefulset/<name>')),
    /** Kubernetes: the Service traffic enters by (default: the target's name). */
    serviceName: Type.Optional(KubeName()),
    /** Kubernetes: the Service's port, by number or name (default: its first). */
    port: Type.Optional(
      Type.Union([
        Type.Integer({ minimum: 1, maximum: 65535 }),
        Text('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', 'a port number or name'),
      ]),
    ),
    /** Kubernetes: where traffic enters from where chaosctl runs (an ingress, a port-forward); wins over serviceName and port. */
    url: Type.Optional(Text(HTTP_URL, 'an http:// or https:// URL')),
    /**
     * The targets that call this one: whose traffic to it a network-delay slows unless the
     * experiment names its own `callers` (none: every peer's, where the backend can).
     */
    callers: Type.Optional(Type.Array(KubeName(), { minItems: 1, maxItems: 20 })),
    /** Local driver: the command that runs it. */
    run: Type.Optional(LocalRunSchema),
  },
  { additionalProperties: false },
);

export type TargetSpec = Static<typeof TargetSchema>;
