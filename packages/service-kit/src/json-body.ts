// The JSON body parser, in place of Fastify's default one, to tell a client exactly what is wrong:
// a charset other than UTF-8 (Fastify would decode it as UTF-8 anyway), an empty or malformed body,
// or a __proto__ / constructor.prototype key (Fastify calls that "not valid JSON", though it is).
import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import { HttpProblem } from './problem.js';

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

const badBody = (type: string, detail: string) =>
  new HttpProblem({ status: 400, title: 'Bad Request', type, detail });

function parseJsonBody(contentType: string | undefined, text: string): unknown {
  const charset = CHARSET.exec(contentType ?? '')?.[1]?.toLowerCase();
  // RFC 8259: JSON is UTF-8; the charset parameter means nothing to it but a sender may still mean it.
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpProblem({
      status: 415,
      title: 'Unsupported Media Type',
      type: 'unsupported-charset',
      detail: `charset ${charset} is not supported; send JSON as UTF-8`,
    });
  }
  if (text.trim() === '') throw badBody('malformed-json', 'the body is empty; send a JSON document');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badBody('malformed-json', `the body is not valid JSON: ${(error as Error).message}`);
  }
  try {
    if (typeof value === 'object' && value !== null) {
      sjson.scan(value as Record<string, unknown>, { protoAction: 'error', constructorAction: 'error' });
    }
  } catch {
    throw badBody(
      'forbidden-property',
      'the body holds a "__proto__" or "constructor.prototype" key, which is refused for safety',
    );
  }
  return value;
}

export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, parseJsonBody(request.headers['content-type'], body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
