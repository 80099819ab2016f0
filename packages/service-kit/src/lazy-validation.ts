// Fastify's own validator compiler (@fastify/ajv-compiler, with the app's `ajv` options), deferred:
// Fastify compiles every route's schemas before it listens, and Ajv's code generation, cold in a
// new process, was a sixth of a replica's start-up (docs/performance.md). Here a route's validator
// is compiled on the first request that needs it, so a replacement takes traffic sooner and a route
// nobody calls costs nothing; that first request waits for the compile instead.
//
// Fastify treats any compiler given this way as custom, so it passes header schemas through as
// written instead of lower-casing their property names: a header schema must name headers in lower
// case (as Node gives them), and one that does not stops the start. A schema Ajv cannot compile
// fails its first request, not the start; every route's tests send it a request.
import AjvCompiler, { type RouteDefinition } from '@fastify/ajv-compiler';

type BuildCompiler = ReturnType<typeof AjvCompiler>;
type Validate = ReturnType<ReturnType<BuildCompiler>>;

const buildCompiler = AjvCompiler();

/** A `schemaController.compilersFactory.buildValidator` that compiles each validator on first use. */
export const lazyValidatorCompiler: BuildCompiler = (externalSchemas, options) => {
  // The Ajv instance itself (with its formats) is made on the first compile too.
  let compile: ReturnType<BuildCompiler> | undefined;
  // ajv-compiler's types say this takes a schema; Fastify passes the route ({ schema, url, ... }),
  // which is what the compiler reads, so it is handed on as it came.
  return (route) => {
    const { httpPart, method, url, schema } = route as unknown as RouteDefinition;
    const named = Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});
    const upper = httpPart === 'headers' && named.find((name) => name !== name.toLowerCase());
    if (upper) throw new Error(`${method} ${url}: name the header ${upper} in lower case in its schema`);
    let validate: Validate | undefined;
    const lazy = (data: unknown) => {
      compile ??= buildCompiler(externalSchemas, options);
      validate ??= compile(route);
      const valid = validate(data);
      // Fastify reads a failed validation's errors from the function it was given.
      lazy.errors = validate.errors;
      return valid;
    };
    lazy.errors = undefined as Validate['errors'];
    // Fastify calls it and reads `errors`: the rest of an Ajv function's shape is not used.
    return lazy as unknown as Validate;
  };
};
