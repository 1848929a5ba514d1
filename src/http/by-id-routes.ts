// The two routes every resource with an id has in the same shape: GET …/:id answers its JSON,
// DELETE …/:id soft-deletes or revokes it and answers 204. They share the schema (uuid id, the
// problems 401/403/404) and the reply; each route says what it documents and which service call
// finds or removes the resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { IdParams, NoContent, responses } from './schemas.ts';

type TypeboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

export interface ByIdRouteDoc {
  operationId: string;
  tags: string[];
  security: Record<string, string[]>[];
  summary: string;
  description?: string;
  hide?: boolean;
  /** Problem statuses the route answers besides 401, 403 and 404 (e.g. 409). */
  alsoAnswers?: number[];
}

export function getByIdRoute<T extends TSchema>(
  app: TypeboxApp,
  url: string,
  { alsoAnswers = [], ...doc }: ByIdRouteDoc,
  out: T,
  get: (request: FastifyRequest, id: string) => Promise<Static<T>>,
): void {
  app.get(
    url,
    {
      schema: {
        ...doc,
        params: IdParams,
        // Widened: the caller's `get` is checked against `out` instead (a generic reply type
        // cannot be resolved here).
        response: responses({ 200: out as TSchema }, [401, 403, 404, ...alsoAnswers]),
      },
    },
    async (request) => get(request, request.params.id),
  );
}

export function deleteByIdRoute(
  app: TypeboxApp,
  url: string,
  { alsoAnswers = [], ...doc }: ByIdRouteDoc,
  remove: (request: FastifyRequest, id: string) => Promise<unknown>,
): void {
  app.delete(
    url,
    {
      schema: {
        ...doc,
        params: IdParams,
        response: responses({ 204: NoContent }, [401, 403, 404, ...alsoAnswers]),
      },
    },
    async (request, reply) => {
      await remove(request, request.params.id);
      return reply.code(204).send(null);
    },
  );
}
