// memory-stress's experiment: how much memory is held in the target container, and for how long.
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Duration, experimentSchema, KubeName, Text } from '../../experiments/fields.js';

const UNITS: Record<string, number> = { MB: 1e6, GB: 1e9, Mi: 2 ** 20, Gi: 2 ** 30 };

export const schema = experimentSchema('memory-stress', {
  /** Memory to hold, e.g. 256MB or 512Mi. */
  size: Type.Optional(Text('^[1-9][0-9]{0,5}(MB|GB|Mi|Gi)$', 'a size such as 256MB or 512Mi')),
  /** Or a share of the target container's memory limit (Kubernetes), e.g. 0.8. */
  share: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  duration: Duration({ nonZero: 'a fault that lasts no time breaks nothing' }),
  /** The container (default: the one named like the service, else the pod's first). */
  container: Type.Optional(KubeName()),
});

export type MemoryStressSpec = Static<typeof schema>;

export const DEFAULT_SIZE = '256MB';

/** Bytes of a size such as 256MB. */
export function bytesOf(size: string): number {
  const [, amount = '0', unit = 'MB'] = /^(\d+)(MB|GB|Mi|Gi)$/.exec(size) ?? [];
  return Number(amount) * (UNITS[unit] as number);
}

export const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

/** What is held: the size, or the share of the limit. */
export const amountOf = (spec: MemoryStressSpec) =>
  spec.share === undefined
    ? (spec.size ?? DEFAULT_SIZE)
    : `${Math.round(spec.share * 100)}% of the memory limit`;
