// GET /api/audit-logs: the org's audit trail for its owners and admins, newest first.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import type { AuditLog } from '../db/schema.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { responses, Timestamp } from '../http/schemas.ts';
import { listAuditLogs, listPlatformAuditLogs } from './audit-query.ts';

const AuditOut = Type.Object({
  id: Type.String(),
  org_id: Type.Union([Type.String(), Type.Null()]),
  actor_user_id: Type.Union([Type.String(), Type.Null()]),
  actor_type: Type.String(),
  action: Type.String(),
  target_type: Type.Union([Type.String(), Type.Null()]),
  target_id: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(
    Type.String(),
    Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
  ),
  created_at: Timestamp,
});

export function auditJson(a: AuditLog) {
  return {
    ...a,
    metadata: a.metadata as Record<string, string | number | boolean | null>,
    created_at: a.created_at.toISOString(),
  };
}

const AuditQueryString = Type.Object(
  {
    ...PageQuery,
    action: Type.Optional(
      Type.String({
        maxLength: 100,
        // An action's name, or a prefix of whole segments then `.*` (`auth.*`): any other
        // wildcard matched nothing and answered an empty trail.
        pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)*(\\.\\*)?$',
        description: 'An action (`auth.login`), or every action under a prefix (`auth.*`)',
      }),
    ),
    actor: Type.Optional(Type.String({ format: 'uuid' })),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const auditRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (
  app,
  { database },
) => {
  // The org's trail and the platform's: one query, one answer, a different reader.
  for (const trail of [
    {
      url: '/api/audit-logs',
      list: listAuditLogs,
      operationId: 'listAuditLogs',
      tags: ['audit'],
      summary: "The org's audit log (owners and admins)",
      description:
        'Filters: action (exact, or a prefix like `auth.*`), actor (user id), outcome, from/to (ISO time; from inclusive, to exclusive; a from not before to is a 400).',
    },
    {
      url: '/api/admin/audit-logs',
      list: listPlatformAuditLogs,
      operationId: 'listPlatformAuditLogs',
      tags: ['admin'],
      summary: "The platform's audit log: acts in no org (superuser)",
      description:
        "Entries with `org_id: null`, which no org's log shows: password resets and sets, mailbox proofs, email verification, failed logins before any org is known, signing-key rotations. The same filters as `GET /api/audit-logs`. The superuser's own login only (not while acting in an org).",
    },
  ]) {
    app.get(
      trail.url,
      {
        schema: {
          operationId: trail.operationId,
          tags: trail.tags,
          security: [{ bearerAuth: [] }, { cookieAuth: [] }],
          summary: trail.summary,
          description: trail.description,
          querystring: AuditQueryString,
          response: responses({ 200: PageOf(AuditOut) }, [401, 403]),
        },
      },
      async (request) => {
        const { limit = 20, ...filters } = request.query;
        const result = await trail.list(database, requirePrincipal(request), {
          limit,
          ...filters,
        });
        return { items: result.items.map(auditJson), next_cursor: result.next_cursor };
      },
    );
  }
};
