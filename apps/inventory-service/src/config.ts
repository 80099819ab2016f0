import { loadConfig, serviceConfigSchema } from '@chaos-platform/service-kit';
import { type Static, Type } from 'typebox';

export const configSchema = serviceConfigSchema(5001, {
  /** Units each catalogue product starts with when the database is first created. */
  SEED_STOCK: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 1_000_000 }),
});

export type Config = Static<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(configSchema, env);
