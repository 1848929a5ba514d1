// The routes of a setting the caller's org has one of at a fixed path (its calling window, its
// Twilio account, its quotas and usage): GET answers it, PUT replaces it from the body, DELETE
// removes it and answers 204 (404 when there is none). They share the schema (the problems
// 401/403, the body's 413/415, DELETE's 404) and the reply; each route says what it documents
// and which service call reads, sets or removes the setting (http/by-id-routes.ts does the same
// for resources with an id).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { NoContent, responses } from './schemas.ts';

type TypeboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

export interface SettingRouteDoc {
  operationId: string;
  tags: string[];
  security: Record<string, string[]>[];
  summary: string;
  description?: string;
  /** Problem statuses the route answers besides its own (e.g. 422). */
  alsoAnswers?: number[];
}

export function getSettingRoute<T extends TSchema>(
  app: TypeboxApp,
  url: string,
  { alsoAnswers = [], ...doc }: SettingRouteDoc,
  out: T,
  get: (request: FastifyRequest) => Promise<Static<T>>,
): void {
  app.get(
    url,
    // Widened: the caller's `get` is checked against `out` instead (a generic reply type cannot
    // be resolved here).
    {
      schema: { ...doc, response: responses({ 200: out as TSchema }, [401, 403, ...alsoAnswers]) },
    },
    async (request) => get(request),
  );
}

export function putSettingRoute<B extends TSchema, T extends TSchema>(
  app: TypeboxApp,
  url: string,
  { alsoAnswers = [], ...doc }: SettingRouteDoc,
  body: B,
  out: T,
  set: (request: FastifyRequest, body: Static<B>) => Promise<Static<T>>,
): void {
  app.put(
    url,
    {
      schema: {
        ...doc,
        body,
        response: responses({ 200: out as TSchema }, [401, 403, 413, 415, ...alsoAnswers]),
      },
    },
    async (request) => set(request, request.body as Static<B>),
  );
}

export function deleteSettingRoute(
  app: TypeboxApp,
  url: string,
  { alsoAnswers = [], ...doc }: SettingRouteDoc,
  remove: (request: FastifyRequest) => Promise<unknown>,
): void {
  app.delete(
    url,
    {
      schema: {
        ...doc,
        response: responses({ 204: NoContent }, [401, 403, 404, ...alsoAnswers]),
      },
    },
    async (request, reply) => {
      await remove(request);
      return reply.code(204).send(null);
    },
  );
}
