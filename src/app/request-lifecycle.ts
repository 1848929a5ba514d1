// Every request's id and its place in the in-flight count. The id (a plain incoming X-Request-Id,
// else a UUID) is echoed in the x-request-id header, every log line and every problem document;
// the count lets shutdown wait for requests in flight before the database closes under them.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, RawRequestDefaultExpression } from 'fastify';
import fp from 'fastify-plugin';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Fastify's genReqId: a caller's X-Request-Id only when it is short and plain (log injection). */
export function requestId(req: RawRequestDefaultExpression): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

const plugin: FastifyPluginAsync = async (app) => {
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
  app.addHook('onRequest', async (request, reply) => {
    inflight++;
    // 'close' fires exactly once per response: sent, failed or aborted by the client.
    reply.raw.once('close', finished);
    reply.header('x-request-id', request.id);
  });
};

// Not encapsulated: the hook runs for every route and app.drain is visible on the app.
export const requestLifecycle = fp(plugin, { name: 'request-lifecycle' });
