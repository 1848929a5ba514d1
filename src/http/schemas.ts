// Schemas shared by every route: the problem document and helpers to declare error responses so
// the OpenAPI document lists them.
import { type TSchema, Type } from 'typebox';

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String(),
          message: Type.String(),
          rule: Type.Optional(Type.String()),
        }),
      ),
    ),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem document' },
);

const ProblemRef = Type.Ref('Problem');

interface RouteSchemaKind {
  security?: Record<string, unknown>[];
  body?: unknown;
}

export interface RouteKind {
  /** API keys may call it (not an account route). */
  takesApiKeys: boolean;
  /** Its path has parameters, whose length Fastify caps (414 uri_too_long). */
  hasParams: boolean;
  /**
   * Its method carries a body (POST, PUT, PATCH, DELETE): Fastify reads one even where the route
   * declares none, so a body of another type is 415 and one over the limit 413 there too.
   */
  readsBody?: boolean;
}

/**
 * The problem answers a route gives by its kind, whatever its handler does: any route a malformed
 * or invalid request (400), a crash (500) or an unreachable database (503); a route that requires
 * a credential 401 (none, or a bad one), 403 (a refused CSRF token, the MFA enrolment gate) and 404
 * (X-Switchboard-Org naming an unknown org); one that also takes API keys 429 (the key over
 * RATE_LIMIT_API_KEY); a route with a body 413 (over BODY_LIMIT_BYTES) and 415 (a content type it
 * does not take; any POST, PUT, PATCH or DELETE, body schema or not); a route with path parameters 414 (one over 100 characters). api-docs adds
 * them to every documented route's responses; what only some routes answer (409, other 429s…)
 * each route declares with `responses()`.
 */
export function problemStatusesOfKind(
  schema: RouteSchemaKind,
  route: RouteKind = { takesApiKeys: false, hasParams: false },
): number[] {
  const statuses = [400, 500, 503];
  const credential =
    Array.isArray(schema.security) &&
    schema.security.length > 0 &&
    schema.security.every((s) => Object.keys(s).length > 0);
  if (credential) statuses.push(401, 403, 404);
  const bearer = credential && schema.security!.some((s) => 'bearerAuth' in s);
  if (bearer && route.takesApiKeys) statuses.push(429);
  if (schema.body !== undefined || route.readsBody) statuses.push(413, 415);
  if (route.hasParams) statuses.push(414);
  return statuses;
}

/** Adds the problem answers of the route's kind to the responses it declares. */
export function declareProblemsOfKind(
  schema: (RouteSchemaKind & { hide?: boolean; response?: Record<string, unknown> }) | undefined,
  route?: RouteKind,
) {
  if (!schema?.response || schema.hide) return;
  for (const status of problemStatusesOfKind(schema, route)) schema.response[status] ??= ProblemRef;
}

/** Declare a route's success responses plus the problem documents it may answer with. */
export function responses<T extends Record<number, TSchema>>(ok: T, errorStatuses: number[] = []) {
  const out: Record<number, TSchema> = { ...ok };
  for (const s of [400, ...errorStatuses, 500, 503]) out[s] = ProblemRef;
  return out as T;
}

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Timestamp = Type.String({ format: 'date-time' });
export const NoContent = Type.Null({ description: 'No content' });

/** Marks a body schema as optional in the OpenAPI document (see optionalBody). */
export const OPTIONAL_BODY = 'x-optional-body';

/**
 * A request body the route also takes absent (its preValidation reads a missing body as `{}`).
 * @fastify/swagger documents every body schema as `required: true`; api-docs reads this mark and
 * documents the body as optional, so generated clients may send none.
 */
export function optionalBody<T extends TSchema>(schema: T): T {
  return Object.assign({}, schema, { [OPTIONAL_BODY]: true });
}

/** A header an answer is sent with, as the OpenAPI document describes it: its schema and meaning. */
export interface ResponseHeader {
  type: 'string' | 'integer';
  description: string;
  [keyword: string]: unknown;
}

/**
 * `schema` (a route's response for one status) documented with the headers it is sent with.
 * @fastify/swagger moves a response schema's `headers` into the OpenAPI response's `headers`
 * (its README, "Response headers"; each header's description beside its schema); Fastify reads
 * no `headers` keyword in a response schema: fast-json-stringify serializes the body as before,
 * and no response is validated. A copy: the schema itself serves other routes and statuses.
 */
export function withHeaders<T extends object>(
  schema: T,
  headers: Record<string, ResponseHeader>,
): T {
  return Object.assign({}, schema, { headers });
}

/**
 * What shows nothing: spaces, format characters (Cf: a zero-width space passed `\S`), control
 * characters (Cc), and the letters and symbols drawn as blanks (the Hangul fillers U+115F, U+1160,
 * U+3164, U+FFA0 and the Braille blank U+2800, which Unicode counts as letters or symbols).
 */
const BLANK = '\\s\\p{Cf}\\p{Cc}\\u115F\\u1160\\u3164\\uFFA0\\u2800';

/**
 * A name people read (an org, a prompt, an agent, an API key): at least one visible character,
 * not only BLANK ones, and no bidirectional controls (U+202A–U+202E, U+2066–U+2069), which
 * reorder how the text around them is shown: a name that reads as another in the dashboard, the
 * audit log or a mail. Written with one way to match any text (blank characters up to the first
 * visible one, then anything but a direction control), so a refusal costs one pass over the text:
 * `[^controls]*[^blank][^controls]*` tried every split point, seconds of a blocked event loop for
 * a long name.
 */
export const READABLE_NAME = `^(?:(?![\\u202A-\\u202E\\u2066-\\u2069])[${BLANK}])*[^${BLANK}][^\\u202A-\\u202E\\u2066-\\u2069]*$`;

/**
 * `text` trimmed, or undefined when nothing of it is visible (only BLANK characters, such as
 * U+200B, which `trim()` keeps): an optional name sent blank is a name not sent.
 */
export function visibleOrNone(text: string | null | undefined): string | undefined {
  return text && hasVisibleText(text) ? text.trim() : undefined;
}

const VISIBLE = new RegExp(`[^${BLANK}]`, 'u');

/** True when `text` holds a character that is not BLANK. */
export function hasVisibleText(text: string): boolean {
  return VISIBLE.test(text);
}

/** A READABLE_NAME of at most `maxLength` characters. */
export const readableName = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: READABLE_NAME });

/**
 * Text shown as a name but optional (a person's full name, a company name at sign-up, a phone's
 * label): no bidirectional controls (READABLE_NAME's reason), blank allowed.
 */
export const NO_DIRECTION_CONTROLS = '^[^\\u202A-\\u202E\\u2066-\\u2069]*$';

/** A string of at most `maxLength` characters without direction controls. */
export const plainText = (maxLength: number) =>
  Type.String({ maxLength, pattern: NO_DIRECTION_CONTROLS });
