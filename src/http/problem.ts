// The one place errors become responses: RFC 9457 application/problem+json with a stable `code`
// and the request id. Causes go to the log, never to the client.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, isUnstorableText } from '../db/errors.ts';
import { AppError, ERRORS, type ErrorCode } from './errors.ts';
import { closeAfterReply } from './lingering-close.ts';
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

/** Map anything thrown to a catalogued error. Unknown errors are 500s and are logged in full. */
export function classify(err: unknown): { code: ErrorCode; detail?: string; extras?: object } {
  if (err instanceof AppError) return { code: err.code, detail: err.detail, extras: err.extras };
  const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e?.validation) {
    const where = e.validationContext ?? 'body';
    return {
      code: 'validation_failed',
      detail: `The ${where} is not valid`,
      extras: { errors: fieldErrors(e.validation) },
    };
  }
  if (isDatabaseUnavailable(err))
    return { code: 'database_unavailable', extras: { headers: { 'retry-after': '2' } } };
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
      return { code: 'validation_failed', detail: 'A URL path segment is too long' };
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

export function registerProblemHandlers(app: FastifyInstance) {
  app.setErrorHandler((err, request, reply) => {
    const { code, detail, extras } = classify(err);
    const status = ERRORS[code].status;
    if (status >= 500) request.log.error({ err }, `request failed: ${code}`);
    else if (!(err instanceof AppError))
      request.log.info(
        { err: { message: (err as Error).message, code: (err as FastifyError).code } },
        `rejected: ${code}`,
      );
    // A refused body may still be arriving: end this connection without a reset.
    if (status === 413) closeAfterReply(request, reply);
    return sendProblem(request, reply, code, detail, (extras ?? {}) as Record<string, unknown>);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      'route_not_found',
      `${request.method} ${request.url.split('?')[0]} does not exist`,
    ),
  );
}
