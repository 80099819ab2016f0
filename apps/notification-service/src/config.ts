import { loadConfig, serviceConfigSchema } from '@chaos-platform/service-kit';
import { type Static, Type } from 'typebox';

export const configSchema = serviceConfigSchema(5002, {
  /** smtp:// or smtps:// (credentials in the URL); unset, e-mails are logged instead of sent. */
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://\\S+$' })),
  MAIL_FROM: Type.String({ minLength: 3, default: 'chaos-platform <orders@chaos-platform.local>' }),
  /**
   * Connection, greeting and socket timeout for the SMTP server: a dead one fails a request, not hangs
   * it. Below the order-service's DOWNSTREAM_TIMEOUT_MS (3 s), so its outbox hears our 503 rather
   * than giving up and retrying while the first send is still in flight.
   */
  SMTP_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
});

export type Config = Static<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(configSchema, env);
