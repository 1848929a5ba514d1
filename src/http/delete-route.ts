// The one shape of "DELETE …/:id answers 204": the routes that soft-delete or revoke one resource
// by its id share the schema (uuid id, 204 or the problems 401/403/404) and the reply; each says
// only what it documents and which service call removes the resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { IdParams, NoContent, responses } from './schemas.ts';

type TypeboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

export interface DeleteRouteDoc {
  operationId: string;
  tags: string[];
  security: Record<string, string[]>[];
  summary: string;
  description?: string;
  hide?: boolean;
  /** Problem statuses the route answers besides 401, 403 and 404 (e.g. 409). */
  alsoAnswers?: number[];
}

export function deleteByIdRoute(
  app: TypeboxApp,
  url: string,
  { alsoAnswers = [], ...doc }: DeleteRouteDoc,
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
