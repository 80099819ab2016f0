// Fastify's own serializer compiler (@fastify/fast-json-stringify-compiler, with the app's
// serializerOpts), deferred, as lazy-validation.ts defers the validators: Fastify builds every
// route's response serializers before it listens, and fast-json-stringify generates and evaluates
// code for each, which no code cache keeps (docs/performance.md). Here a response's serializer is
// compiled on the first response that uses it; that response waits for the compile instead.
//
// A response schema fast-json-stringify cannot compile fails its first response, not the start;
// every route's tests send it a request.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type BuildCompiler = ReturnType<typeof SerializerSelector>;
type Serialize = ReturnType<ReturnType<BuildCompiler>>;

const buildCompiler = SerializerSelector();

/** A `schemaController.compilersFactory.buildSerializer` that compiles each serializer on first use. */
export const lazySerializerCompiler: BuildCompiler = (externalSchemas, options) => {
  let compile: ReturnType<BuildCompiler> | undefined;
  return (route) => {
    let serialize: Serialize | undefined;
    return (data) => {
      compile ??= buildCompiler(externalSchemas, options);
      serialize ??= compile(route);
      return serialize(data);
    };
  };
};
