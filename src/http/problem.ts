// The one place errors become responses: RFC 9457 application/problem+json with a stable `code`
// and the request id. Causes go to the log, never to the client.
import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseBusy, isDatabaseUnavailable, isUnstorableText } from '../db/errors.ts';
import { AppError, ERRORS, type ErrorCode } from './errors.ts';
import { closeAfterReply } from './lingering-close.ts';
import { consumedBy } from './request-body.ts';
import { type AjvError, fieldErrors } from './validation-errors.ts';

export function problemBody(
  request: FastifyRequest,
  code: ErrorCode,
  detail?: string,
  extras: Record<string, unknown> = {},
) {
  const { headers: _h, ...rest } = extras;
  return {
    type: `/problems/${code}`,
    title: ERRORS[code].title,
    status: ERRORS[code].status,
    code,
    ...(detail ? { detail } : {}),
    instance: request.url.split('?')[0],
    request_id: request.id,
    ...rest,
  };
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail?: string,
  extras: Record<string, unknown> & { headers?: Record<string, string> } = {},
) {
  for (const [k, v] of Object.entries(extras.headers ?? {})) reply.header(k, v);
  return reply
    .code(ERRORS[code].status)
    .type('application/problem+json')
    .send(problemBody(request, code, detail, extras));
}

/** Fastify's names for the parts of a request it validates, as a sentence says them. */
const PART_WORDS: Record<string, string> = {
  params: 'path parameters',
  querystring: 'query string',
  headers: 'headers',
};

/** Map anything thrown to a catalogued error. Unknown errors are 500s and are logged in full. */
export function classify(err: unknown): { code: ErrorCode; detail?: string; extras?: object } {
  if (err instanceof AppError) return { code: err.code, detail: err.detail, extras: err.extras };
  const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e?.validation) {
    const where = PART_WORDS[e.validationContext ?? ''] ?? 'body';
    return {
      code: 'validation_failed',
      detail: `The ${where} ${where.endsWith('s') ? 'are' : 'is'} not valid`,
      extras: { errors: fieldErrors(e.validation) },
    };
  }
  // An error the framework gave a 4xx is about the request, never the database, whatever its
  // code: a client that stopped sending its body is Node's 'aborted' with code ECONNRESET, which
  // read as a database outage was logged at error level as `database_unavailable`.
  const aboutRequest =
    typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500;
  if (aboutRequest && e.code === 'ECONNRESET') {
    return {
      code: 'malformed_request',
      detail: 'The client closed the connection before its body arrived',
    };
  }
  if (!aboutRequest && isDatabaseUnavailable(err))
    return { code: 'database_unavailable', extras: { headers: { 'retry-after': '2' } } };
  if (!aboutRequest && isDatabaseBusy(err))
    return { code: 'database_busy', extras: { headers: { 'retry-after': '2' } } };
  if (isUnstorableText(err))
    return {
      code: 'validation_failed',
      detail: 'The request contains text that cannot be stored (NUL or invalid Unicode)',
    };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'malformed_json', detail: 'The body is empty but the content type is JSON' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'malformed_json' };
    case 'FST_ERR_BAD_URL':
      return { code: 'validation_failed', detail: 'The URL is not valid percent-encoded UTF-8' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { code: 'uri_too_long', detail: 'A URL path segment is too long' };
  }
  if (err instanceof SyntaxError && e.statusCode === 400) return { code: 'malformed_json' };
  if (e?.statusCode === 413) return { code: 'payload_too_large' };
  if (e?.statusCode === 415) return { code: 'unsupported_media_type' };
  if (e?.statusCode === 429) return { code: 'rate_limited' };
  if (e?.statusCode === 404) return { code: 'route_not_found' };
  if (e?.statusCode === 405) return { code: 'method_not_allowed' };
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { code: 'validation_failed', detail: 'The request could not be processed' };
  }
  return { code: 'internal_error' };
}

/**
 * Fastify's `frameworkErrors` option: what the router refuses before any route or hook runs (a path
 * that does not decode, e.g. the UTF-8-looking bytes of a lone surrogate) is a problem document
 * too, instead of Fastify's own JSON shape.
 */
export function frameworkErrorHandler(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  reply.header('x-request-id', request.id);
  const { code, detail } = classify(err);
  return sendProblem(request, reply, code, detail);
}

/**
 * The methods the app's routes answer on a concrete path (for 405 and its Allow header), from the
 * route table, built on the first unknown request. Wildcard routes (the dashboard's HTML fallback,
 * the docs' assets) do not count: they would claim every path.
 */
function methodsByPath(app: FastifyInstance) {
  let routes: { method: string; pattern: RegExp }[] | undefined;
  const segment = (s: string) =>
    s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (path: string): string[] => {
    routes ??= app.routeTable
      .filter((r) => !r.url.includes('*'))
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(`^${r.url.replace(/\/$/, '').split('/').map(segment).join('/')}/?$`),
      }));
    const methods = routes.filter((r) => r.pattern.test(path)).map((r) => r.method);
    return [...new Set(methods)].sort();
  };
}

const decodedLength = (segment: string) => {
  try {
    return decodeURIComponent(segment).length;
  } catch {
    return segment.length;
  }
};

/**
 * Does a segment of the path exceed the router's limit on a path parameter (measured decoded, as
 * the router measures it)? Only then can the router have passed by a route that answers it.
 */
function overParamLimit(app: FastifyInstance) {
  const config = app.initialConfig as { maxParamLength?: number; routerOptions?: object };
  const limit =
    (config.routerOptions as { maxParamLength?: number } | undefined)?.maxParamLength ??
    config.maxParamLength ??
    100;
  return (path: string) => path.split('/').some((s) => decodedLength(s) > limit);
}

export function registerProblemHandlers(app: FastifyInstance) {
  app.setErrorHandler((err, request, reply) => {
    const { code, detail: said, extras } = classify(err);
    // A body of a type no parser reads (text/plain, or none named): say what the route takes.
    const detail =
      said ??
      (code === 'unsupported_media_type'
        ? `This route accepts ${consumedBy(request).join(', ')}`
        : undefined);
    const status = ERRORS[code].status;
    if (status >= 500) {
      // A state the server answers on purpose (LiveKit not configured, shutting down) is no
      // fault: one warning, without a stack, so an operator's error log holds faults alone. A
      // fault wrapped in an AppError (its cause) is logged in full.
      if (err instanceof AppError && err.cause === undefined) {
        request.log.warn({ code }, `request refused: ${code}`);
      } else request.log.error({ err }, `request failed: ${code}`);
    } else if (!(err instanceof AppError))
      request.log.info(
        { err: { message: (err as Error).message, code: (err as FastifyError).code } },
        `rejected: ${code}`,
      );
    // A refused body may still be arriving: end this connection without a reset.
    if (status === 413) closeAfterReply(request, reply);
    return sendProblem(request, reply, code, detail, (extras ?? {}) as Record<string, unknown>);
  });
  const allowedMethods = methodsByPath(app);
  const tooLong = overParamLimit(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(path);
    if (allowed.includes(request.method)) {
      // A route answers this method on this path, yet the router passed it by: one of its path
      // segments is over the router's limit (maxParamLength), and the dashboard's GET fallback
      // caught the request before Fastify's own 414 could.
      if (tooLong(path)) {
        return sendProblem(request, reply, 'uri_too_long', 'A URL path segment is too long');
      }
      // Otherwise the route was reached and declined the request itself (reply.callNotFound():
      // the dashboard's `/` to a client that does not ask for HTML): it has nothing to give.
      return sendProblem(
        request,
        reply,
        'route_not_found',
        `${request.method} ${path} has nothing for this request`,
      );
    }
    if (allowed.length > 0) {
      const allow = allowed.join(', ');
      return sendProblem(
        request,
        reply,
        'method_not_allowed',
        `${path} does not answer ${request.method}; it answers ${allow}`,
        { headers: { allow } },
      );
    }
    return sendProblem(
      request,
      reply,
      'route_not_found',
      `${request.method} ${path} does not exist`,
    );
  });
}

type ClientError = Error & { code?: string; rawPacket?: unknown };

/**
 * Node's HTTP parser counts the request line toward the header limit. When the first line of
 * what it choked on is most of that limit (or has no end in sight), the URL is what is too long.
 */
function urlOverflowed(raw: unknown, limit: number): boolean {
  if (!Buffer.isBuffer(raw) || !/^[A-Z]+ /.test(raw.subarray(0, 16).toString('latin1')))
    return false;
  const end = raw.indexOf('\r\n');
  return end === -1 || end > limit / 2;
}

export function clientErrorCode(err: ClientError, limit = maxHeaderSize): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return urlOverflowed(err.rawPacket, limit) ? 'uri_too_long' : 'headers_too_large';
  }
  return 'malformed_request';
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any request exists (431
 * headers too large, a request line over the limit, a request that does not parse, a request that
 * took too long to arrive) is answered as a problem document too, written on the socket itself,
 * which then closes gracefully (the client may still be sending; a reset could lose the answer).
 */
export function clientErrorHandler(this: FastifyInstance, err: ClientError, socket: Socket) {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code = clientErrorCode(
    err,
    (socket as { server?: { maxHeaderSize?: number } }).server?.maxHeaderSize,
  );
  const { status, title } = ERRORS[code];
  const id = randomUUID();
  this.log.info(
    { request_id: id, err: { code: err.code, message: err.message } },
    `rejected: ${code}`,
  );
  if (socket.writable) {
    const body = JSON.stringify({ type: `/problems/${code}`, title, status, code, request_id: id });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'content-type: application/problem+json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${id}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  }
  // Read and drop what is still arriving until the client closes; never longer than a moment.
  socket.resume();
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), 2000).unref();
}
