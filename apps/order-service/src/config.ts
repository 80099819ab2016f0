import { loadConfig, serviceConfigSchema } from '@chaos-platform/service-kit';
import { type Static, Type } from 'typebox';

const url = (fallback: string) => Type.String({ pattern: '^https?://\\S+$', default: fallback });
const Ms = (fallback: number, maximum = 600_000) => Type.Integer({ minimum: 1, maximum, default: fallback });

export const configSchema = serviceConfigSchema(5000, {
  INVENTORY_URL: url('http://127.0.0.1:5001'),
  NOTIFICATION_URL: url('http://127.0.0.1:5002'),
  /** Per attempt, as the seed: a slow dependency costs at most this much per try. */
  DOWNSTREAM_TIMEOUT_MS: Ms(3000, 60_000),
  /** Extra attempts for idempotent calls; non-idempotent calls are never retried. */
  DOWNSTREAM_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  DOWNSTREAM_RETRY_BASE_DELAY_MS: Ms(100, 10_000),
  /** Consecutive failures that open a downstream's circuit breaker. */
  BREAKER_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  BREAKER_HALF_OPEN_AFTER_MS: Ms(5000),
  DOWNSTREAM_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1024, default: 32 }),
  OUTBOX_POLL_INTERVAL_MS: Ms(500, 60_000),
  /** Messages claimed and delivered concurrently per pass; a full batch is followed by the next at once. */
  OUTBOX_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  OUTBOX_MAX_BACKOFF_MS: Ms(30_000),
  /** An order still pending this long (inventory never answered) is failed and its stock released. */
  PENDING_ORDER_TIMEOUT_MS: Ms(60_000, 86_400_000),
});

export type Config = Static<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(configSchema, env);
