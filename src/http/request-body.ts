// Request bodies as text, read strictly: JSON here, and the UTF-8 checks the CSV import reuses.
// Fastify's own JSON parser decodes a body as UTF-8 leniently (an invalid byte becomes U+FFFD and
// is stored as such), ignores the content type's charset, answers a prototype-poisoning key as
// "not valid JSON", and leaves a text/plain parser in place, so a JSON document sent as text/plain
// reached validation as a string. Here:
// - the bytes must be UTF-8 (RFC 8259): anything else is 400 malformed_json, nothing is stored;
// - a charset other than UTF-8 is 415: the body would be read as something it is not; so is a
//   Content-Encoding (gzip, br): nothing here decodes one;
// - a `__proto__` key, or a `constructor` holding a `prototype`, is 400 validation_failed naming
//   the key (they would poison an object built from the body);
// - text/plain has no parser: 415, like any type a route does not take;
// - a route whose `consumes` leaves JSON out (form-only, CSV-only) answers 415 to a JSON body
//   before reading it: a broken one is no 400, a well-formed one never reaches its handler.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body's text, or a 400 when its bytes are not UTF-8 (`what` names it in the answer). */
export function strictUtf8(
  body: Buffer,
  what: { code: 'malformed_json' | 'validation_failed'; name: string },
) {
  try {
    return utf8.decode(body);
  } catch {
    throw new AppError(what.code, `The ${what.name} is not valid UTF-8`);
  }
}

/**
 * A 415 unless the body is sent as is and, when its content type names a charset, in UTF-8. No
 * Content-Encoding is decoded here: a gzip or br body would be read as its compressed bytes, so
 * it is refused (RFC 9110 §15.5.16), with `Accept-Encoding: identity` saying what is taken.
 */
export function assertPlainBody(request: FastifyRequest): void {
  const coding = request.headers['content-encoding'];
  if (coding !== undefined) {
    const codings = coding.split(',').map((c) => c.trim().toLowerCase());
    if (!codings.every((c) => c === 'identity' || c === '')) {
      throw new AppError(
        'unsupported_media_type',
        `Bodies are read as sent: Content-Encoding ${coding.slice(0, 40)} is not supported`,
        { headers: { 'accept-encoding': 'identity' } },
      );
    }
  }
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '');
  const charset = match?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError(
      'unsupported_media_type',
      `Bodies are read as UTF-8, not ${charset.slice(0, 40)}`,
    );
  }
}

/** The first key that would poison an object built from the parsed value, if any. */
function poisonedKey(value: unknown): string | null {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Object.hasOwn(v, '__proto__')) return '__proto__';
    const ctor = (v as { constructor?: unknown }).constructor;
    if (Object.hasOwn(v, 'constructor') && ctor !== null && typeof ctor === 'object') {
      if (Object.hasOwn(ctor, 'prototype')) return 'constructor.prototype';
    }
    for (const child of Object.values(v)) stack.push(child);
  }
  return null;
}

export function parseJsonBody(text: string): unknown {
  if (text.length === 0) {
    throw new AppError('malformed_json', 'The body is empty but the content type is JSON');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('malformed_json');
  }
  // Only a text that names one can hold such a key: the walk runs for those alone.
  if (text.includes('__proto__') || text.includes('constructor')) {
    const key = poisonedKey(value);
    if (key) {
      throw new AppError('validation_failed', `A key named ${key} is not accepted`, {
        errors: [{ field: key, message: 'is not an accepted key' }],
      });
    }
  }
  return value;
}

/**
 * A route that declares no body (logout, cancel, MFA setup, …) reads none: a JSON body sending
 * fields there is refused as any route refuses a field it does not know (`unknown fields on
 * writes are rejected, never ignored`), or a client believing it set something would be told
 * nothing. `{}` and `null` say nothing and pass.
 */
function assertNoFields(value: unknown): void {
  if (value === null) return;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return;
    throw new AppError('validation_failed', 'This route takes no body fields', {
      errors: keys.slice(0, 20).map((field) => ({ field, message: 'is not an allowed field' })),
    });
  }
  throw new AppError('validation_failed', 'This route takes no body', {
    errors: [{ field: 'body', message: 'must be empty ({} or none)' }],
  });
}

/** The content types the route declares it takes (`consumes`); JSON when it declares none. */
export function consumedBy(request: FastifyRequest): string[] {
  const consumes = (request.routeOptions.schema as { consumes?: unknown } | undefined)?.consumes;
  return Array.isArray(consumes) ? consumes : ['application/json'];
}

/**
 * A request no route takes (no such path: 404; a method the path does not answer: 405) gets that
 * answer, whatever its body: its body is not parsed, so neither its type (415) nor its bytes (400)
 * are judged against a route that does not exist. (Fastify has read it by then: a body over
 * BODY_LIMIT_BYTES is still a 413.)
 */
export function reachesNoRoute(request: FastifyRequest): boolean {
  return request.is404;
}

/**
 * A parser of a type only some routes take (forms, CSV) parses it for those routes alone: every
 * other route answers 415 naming what it takes, before its handler or its validation runs.
 */
export function assertConsumed(request: FastifyRequest, type: string): void {
  const accepted = consumedBy(request);
  if (!accepted.includes(type)) {
    throw new AppError('unsupported_media_type', `This route accepts ${accepted.join(', ')}`);
  }
}

/**
 * A body refused before any route ran is logged as the framework's own refusals are (problem.ts
 * logs those, not AppErrors, which handlers throw on purpose): one line with the request id.
 */
export function refused(request: FastifyRequest, err: unknown): Error {
  if (!(err instanceof AppError)) return err as Error;
  request.log.info({ err: { message: err.message, code: err.code } }, `rejected: ${err.code}`);
  return err;
}

export function registerJsonBodyParser(app: FastifyInstance, bodyLimit: number) {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit },
    (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      if (reachesNoRoute(request)) return done(null, undefined);
      try {
        // The route's content types decide before the body is read as JSON: a form-only route
        // (a form login, Twilio's webhooks) answers 415 to every JSON body, not a 400 to the
        // broken ones, and never hands a well-formed one to its handler as if it were its form.
        assertConsumed(request, 'application/json');
        assertPlainBody(request);
        const value = parseJsonBody(strictUtf8(body, { code: 'malformed_json', name: 'body' }));
        if (!(request.routeOptions.schema as { body?: unknown } | undefined)?.body) {
          assertNoFields(value);
        }
        done(null, value);
      } catch (err) {
        done(refused(request, err));
      }
    },
  );
}
