import { describe, expect, it } from '@jest/globals';
import { Type } from 'typebox';
import { ConfigError, loadConfig, serviceConfigSchema } from './config.js';

const schema = serviceConfigSchema(5000, {
  TARGET_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:5001' }),
  RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
});

describe('loadConfig', () => {
  it('applies defaults when nothing is set', () => {
    const config = loadConfig(schema, {});
    expect(config).toMatchObject({
      PORT: 5000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATA_DIR: './data',
      TARGET_URL: 'http://127.0.0.1:5001',
      RETRIES: 2,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('turns numeric strings into numbers and keeps only known settings', () => {
    const config = loadConfig(schema, { PORT: '8080', RETRIES: '5', HOME: '/root', PATH: '/bin' });
    expect(config.PORT).toBe(8080);
    expect(config.RETRIES).toBe(5);
    expect(config).not.toHaveProperty('HOME');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(schema, { PORT: '', DATABASE_URL: '' })).toMatchObject({ PORT: 5000 });
  });

  it('says in one phrase per variable what is wrong, naming the allowed values of a choice', () => {
    expect(() => loadConfig(schema, { PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(
      'invalid configuration: PORT must be integer; LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('names a bad variable that follows a bad choice, and one that is required but unset', () => {
    expect(() => loadConfig(schema, { LOG_LEVEL: 'loud', RETRIES: '11' })).toThrow(
      /^invalid configuration: LOG_LEVEL must be one of .*; RETRIES must be <= 10$/,
    );
    const withToken = Type.Object({ TOKEN: Type.String({ minLength: 1 }) });
    expect(() => loadConfig(withToken, {})).toThrow('invalid configuration: TOKEN is required');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://db/x'],
    ['TARGET_URL', 'ftp://x'],
    ['RETRIES', '-1'],
    ['LOAD_SHED_MAX_HEAP_RATIO', '2'],
    ['POD_NAME', 'pod\r\nX-Injected: 1'],
    ['MAX_CONNECTIONS', '0'],
    ['HTTP_HEADERS_TIMEOUT_MS', '0'],
    ['ADMISSION_MAX_IN_FLIGHT', '0'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    const load = () => loadConfig(schema, { [name]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`^invalid configuration: .*${name}`));
  });
});
