// Liveness (/health: the process answers) and readiness (/ready: its database answers).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import { Type } from 'typebox';
import type { Database } from '../db/database.ts';
import { AppError } from '../http/errors.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { responses } from '../http/schemas.ts';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export const healthRoutes: FastifyPluginAsyncTypebox<{
  database: Database;
  redis?: Redis;
  timeoutMs: number;
}> = async (app, { database, redis, timeoutMs }) => {
  app.get(
    '/health',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'getHealth',
        security: [],
        tags: ['health'],
        summary: 'Liveness: the process is up',
        response: responses({ 200: Type.Object({ status: Type.Literal('ok') }) }),
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'getReadiness',
        security: [],
        tags: ['health'],
        summary: 'Readiness: the database (and Redis, when configured) answer',
        response: responses(
          {
            200: Type.Object({
              status: Type.Literal('ready'),
              database: Type.String(),
              redis: Type.Optional(Type.String()),
            }),
          },
          [],
        ),
      },
    },
    async () => {
      try {
        await withTimeout(database.ping(), timeoutMs);
      } catch (err) {
        throw new AppError(
          'database_unavailable',
          undefined,
          { headers: { 'retry-after': '2' } },
          { cause: err },
        );
      }
      // Redis carries shared counters only: its absence degrades limits, not readiness.
      let redisStatus: string | undefined;
      if (redis) {
        redisStatus = await withTimeout(redis.ping(), timeoutMs).then(
          () => 'ok',
          () => 'unavailable',
        );
      }
      return {
        status: 'ready' as const,
        database: database.kind,
        ...(redisStatus ? { redis: redisStatus } : {}),
      };
    },
  );
};
