// application/x-www-form-urlencoded bodies, for the routes that document them and no others.
// A form is the one body another site's page can POST without a CORS preflight, so a JSON route
// that also parsed forms would be reachable by a cross-site auto-submitted <form>. A route opts in
// by listing the type in its schema's `consumes` (which also puts it into the OpenAPI document);
// every other route answers 415 unsupported_media_type before its handler runs.
//
// Read strictly, as JSON bodies are (request-body.ts): a charset other than UTF-8 is 415, and bytes
// or percent-escapes that are not UTF-8 are a 400; node's lenient decoding would have stored
// U+FFFD in their place. A `%` not followed by two hex digits stays literal (as browsers read it).
import { isUtf8 } from 'node:buffer';
import { type ParsedUrlQuery, parse } from 'node:querystring';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';
import { assertConsumed, assertPlainBody, reachesNoRoute, refused } from './request-body.ts';

const NOT_UTF8 = 'The form body is not valid percent-encoded UTF-8';

const hexValue = (c: number | undefined): number =>
  c === undefined
    ? -1
    : c >= 0x30 && c <= 0x39
      ? c - 0x30
      : c >= 0x41 && c <= 0x46
        ? c - 0x37
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : -1;

/** `%XX` escapes to their bytes; anything else (a stray `%` too) as its own UTF-8 bytes. */
function percentDecodeToBytes(s: string): Buffer {
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const hi = src[i] === 0x25 ? hexValue(src[i + 1]) : -1;
    const lo = hi >= 0 ? hexValue(src[i + 2]) : -1;
    if (lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else {
      out[n++] = src[i] as number;
    }
  }
  return out.subarray(0, n);
}

/** The form's fields, or null when a byte or an escape is not UTF-8. */
function parseUtf8Form(body: Buffer): ParsedUrlQuery | null {
  if (!isUtf8(body)) return null;
  let valid = true;
  const decode = (s: string) => {
    const bytes = percentDecodeToBytes(s);
    if (!isUtf8(bytes)) valid = false;
    return bytes.toString('utf8');
  };
  // A repeated key becomes an array, which the route's schema then rejects; the result has a
  // null prototype, so a `__proto__` field is only a field.
  const fields = parse(body.toString('utf8'), '&', '=', { decodeURIComponent: decode });
  return valid ? fields : null;
}

export const FORM_TYPE = 'application/x-www-form-urlencoded';

export function registerFormBodyParser(app: FastifyInstance, bodyLimit: number) {
  app.addContentTypeParser(
    FORM_TYPE,
    { parseAs: 'buffer', bodyLimit },
    (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      if (reachesNoRoute(request)) return done(null, undefined);
      try {
        assertConsumed(request, FORM_TYPE);
        assertPlainBody(request);
      } catch (err) {
        done(refused(request, err));
        return;
      }
      const fields = parseUtf8Form(body);
      done(fields ? null : new AppError('validation_failed', NOT_UTF8), fields ?? undefined);
    },
  );
}
