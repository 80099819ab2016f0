import { describe, expect, it } from '@jest/globals';
import { lazySerializerCompiler } from './lazy-serialization.js';

// A response as Fastify asks for its serializer.
const route = (schema: unknown) => ({ schema, method: 'GET', url: '/things', httpStatus: '200' }) as never;

describe('lazySerializerCompiler', () => {
  it('compiles a response serializer on its first use, not when Fastify asks for it', () => {
    const compiler = lazySerializerCompiler({}, {});
    // fast-json-stringify refuses a $ref it cannot resolve: an eager compiler would throw here, at start-up.
    const serialize = compiler(route({ $ref: 'nowhere#' }));
    expect(() => serialize({})).toThrow(/nowhere/);
  });

  it('serializes by the schema: what it does not name is left out, and the same every call', () => {
    const serialize = lazySerializerCompiler(
      {},
      {},
    )(route({ type: 'object', properties: { id: { type: 'string' }, n: { type: 'integer' } } }));
    expect(serialize({ id: 'a', n: 2, secret: 'x' })).toBe('{"id":"a","n":2}');
    expect(serialize({ id: 'b', n: 3 })).toBe('{"id":"b","n":3}');
  });

  it('resolves shared schemas the app added', () => {
    const shared = {
      'thing.json': { $id: 'thing.json', type: 'object', properties: { id: { type: 'string' } } },
    };
    const serialize = lazySerializerCompiler(shared, {})(route({ $ref: 'thing.json#' }));
    expect(serialize({ id: 'a', other: 1 })).toBe('{"id":"a"}');
  });
});
