import { describe, expect, it } from '@jest/globals';
import { lazyValidatorCompiler } from './lazy-validation.js';

// Fastify's options for this app's validators (service-app.ts), and a route as Fastify passes it.
const compiler = lazyValidatorCompiler({}, { customOptions: { allErrors: true, removeAdditional: true } });
const route = (schema: unknown, httpPart = 'body') =>
  ({ schema, method: 'POST', url: '/things', httpPart }) as never;

describe('lazyValidatorCompiler', () => {
  it('compiles a route validator on its first use, not when Fastify asks for it', () => {
    // Ajv refuses this schema: an eager compiler would throw here, at start-up.
    const validate = compiler(route({ type: 'no-such-type' }));
    expect(() => validate({})).toThrow(/^schema is invalid/);
  });

  it('refuses, when Fastify asks, a header schema that names a header in capitals', () => {
    const headers = { type: 'object', properties: { 'Idempotency-Key': { type: 'string' } } };
    expect(() => compiler(route(headers, 'headers'))).toThrow(
      'POST /things: name the header Idempotency-Key in lower case in its schema',
    );
    expect(() => compiler(route(headers))).not.toThrow();
  });

  it('validates with the app options and hands Fastify the errors of the last call', () => {
    const validate = compiler(
      route({
        type: 'object',
        properties: { name: { type: 'string', minLength: 1 }, email: { type: 'string', format: 'email' } },
        required: ['name'],
        additionalProperties: false,
      }),
    );
    const extra = { name: 'a', email: 'a@example.com', other: 1 };
    expect(validate(extra)).toBe(true);
    // removeAdditional, as configured, and the formats Fastify's compiler adds.
    expect(extra).toEqual({ name: 'a', email: 'a@example.com' });
    expect(validate({ name: '', email: 'nope' })).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath).sort()).toEqual(['/email', '/name']);
    expect(validate({ name: 'b' })).toBe(true);
    expect(validate.errors).toBeNull();
  });
});
