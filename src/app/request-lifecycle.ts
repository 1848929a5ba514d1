// Every request's id and its place in the in-flight count. The id (a plain incoming X-Request-Id,
// else a UUID) is echoed in the x-request-id header, every log line and every problem document;
// the count lets shutdown wait for requests in flight before the database closes under them.
// One access-log line per request, written when its response is done: method, route, status,
// time, request id and org (at debug level, also one line when a request arrives).
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest, RawRequestDefaultExpression } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { redactUrl } from '../logger.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Fastify's genReqId: a caller's X-Request-Id only when it is short and plain (log injection). */
export function requestId(req: RawRequestDefaultExpression): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Fastify's request logger is a pino child logger (app.ts gives Fastify pino, or its options). */
const logger = (request: FastifyRequest) => request.log as unknown as Logger;

const plugin: FastifyPluginAsync = async (app) => {
  // The access line is built below from fields that never hold a secret (the URL only through
  // redactUrl), so it skips the redaction pass, which was most of a line's cost (BENCHMARKS.md:
  // /health at LOG_LEVEL=info). Every other line, and any field added here, keeps redaction: add
  // nothing to the access line that a caller sends (headers, bodies, query values).
  const accessLog = (app.log as unknown as Logger).child({}, { redact: [] });
  let inflight = 0;
  const drained: (() => void)[] = [];
  app.decorate('drain', (timeoutMs: number) =>
    inflight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          drained.push(resolve);
          setTimeout(resolve, timeoutMs).unref();
        }),
  );
  const finished = () => {
    inflight--;
    if (inflight === 0) for (const r of drained.splice(0)) r();
  };
  // Both hooks are synchronous (done-style): they run on every request, where an async hook
  // would cost a promise and a microtask each.
  app.addHook('onRequest', (request, reply, done) => {
    inflight++;
    // 'close' fires exactly once per response: sent, failed or aborted by the client.
    reply.raw.once('close', finished);
    reply.header('x-request-id', request.id);
    if (logger(request).isLevelEnabled('debug'))
      request.log.debug({ req: request }, 'incoming request');
    done();
  });
  // Fastify's own pair of lines per request is off (disableRequestLogging): this one replaces it.
  app.addHook('onResponse', (request, reply, done) => {
    // Nothing is built for a line a silent logger would drop.
    if (accessLog.isLevelEnabled('info')) {
      accessLog.info(
        {
          request_id: request.id,
          method: request.method,
          route: request.routeOptions.url ?? null,
          url: redactUrl(request.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          org: request.principal?.orgId ?? null,
        },
        'request',
      );
    }
    done();
  });
};

// Not encapsulated: the hook runs for every route and app.drain is visible on the app.
export const requestLifecycle = fp(plugin, { name: 'request-lifecycle' });
