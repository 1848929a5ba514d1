// The kill switch's routes (src/suspension/suspension.service.ts says what each act cuts):
//   POST /api/admin/orgs/{id}/suspend · POST /api/admin/orgs/{id}/resume ·
//   GET /api/admin/suspended-orgs (the platform superuser) ·
//   POST /api/orgs/current/lockdown (the org's owner, re-authenticated).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Org } from '../db/schema.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { IdParams, responses, Timestamp } from '../http/schemas.ts';
import type { SuspendedOrgRow } from './suspension.repository.ts';
import type { ResumeOutcome, Suspension, SuspensionOutcome } from './suspension.service.ts';

const Reason = Type.String({
  minLength: 1,
  maxLength: 500,
  pattern: '\\S',
  description: 'Why (kept on the org and in the audit log; shown to the superuser)',
});
const Kind = Type.Union([Type.Literal('lockdown'), Type.Literal('suspension')], {
  description: "`suspension`: by the platform superuser; `lockdown`: by the org's owner",
});

const OrgSuspension = Type.Object(
  {
    org_id: Type.String({ format: 'uuid' }),
    suspended: Type.Boolean(),
    kind: Type.Union([Kind, Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    suspended_at: Type.Union([Timestamp, Type.Null()]),
    suspended_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  },
  { title: 'OrgSuspension' },
);

const SuspensionResult = Type.Object(
  {
    ...OrgSuspension.properties,
    sessions_ended: Type.Integer({ description: 'Every session of the org; they never come back' }),
    api_keys_held: Type.Integer({ description: 'Keys kept but refused until the org resumes' }),
    scheduled_calls_paused: Type.Integer({ description: 'Pending calls that wait (not failed)' }),
    live_calls_ended: Type.Integer({ description: 'Live Twilio calls hung up through its API' }),
    live_calls_failed: Type.Integer({ description: 'Live calls Twilio would not end' }),
  },
  { title: 'SuspensionResult' },
);

const ResumeResult = Type.Object(
  {
    ...OrgSuspension.properties,
    api_keys_restored: Type.Integer(),
    scheduled_calls_resumed: Type.Integer(),
  },
  { title: 'ResumeResult' },
);

const SuspendedOrg = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    kind: Kind,
    reason: Type.String(),
    suspended_at: Timestamp,
    suspended_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    suspended_by_email: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'SuspendedOrg' },
);

function suspensionJson(o: Org) {
  return {
    org_id: o.id,
    suspended: o.suspended_at !== null,
    kind: o.suspension_kind,
    reason: o.suspended_reason,
    suspended_at: o.suspended_at?.toISOString() ?? null,
    suspended_by: o.suspended_by,
  };
}

function resultJson(r: SuspensionOutcome) {
  return {
    ...suspensionJson(r.org),
    sessions_ended: r.sessionsEnded,
    api_keys_held: r.apiKeysHeld,
    scheduled_calls_paused: r.scheduledCallsPaused,
    live_calls_ended: r.liveCalls.ended,
    live_calls_failed: r.liveCalls.failed,
  };
}

function resumeJson(r: ResumeOutcome) {
  return {
    ...suspensionJson(r.org),
    api_keys_restored: r.apiKeysRestored,
    scheduled_calls_resumed: r.scheduledCallsResumed,
  };
}

function suspendedOrgJson(o: SuspendedOrgRow) {
  return {
    id: o.id,
    name: o.name,
    kind: o.suspension_kind,
    reason: o.suspended_reason,
    suspended_at: o.suspended_at.toISOString(),
    suspended_by: o.suspended_by,
    suspended_by_email: o.suspended_by_email,
  };
}

export const suspensionRoutes: FastifyPluginAsyncTypebox<{ suspension: Suspension }> = async (
  app,
  { suspension },
) => {
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });

  /** Suspend and resume: the superuser acts on the org in the path, saying why. */
  const orgAct = <R extends TSchema>(
    schema: { operationId: string; summary: string; description: string },
    result: R,
  ) => ({
    ...schema,
    tags: ['admin'],
    security,
    params: IdParams,
    body: ReasonBody,
    response: responses({ 200: result }, [400, 401, 403, 404, 409]),
  });
  const onOrg = (request: FastifyRequest & { params: { id: string }; body: { reason: string } }) =>
    [
      requirePrincipal(request),
      request.params.id.toLowerCase(),
      request.body.reason,
      requestMeta(request),
    ] as const;

  app.post(
    '/api/admin/orgs/:id/suspend',
    {
      schema: orgAct(
        {
          operationId: 'suspendOrg',
          summary: 'Suspend an org: cut it off on every channel (superuser)',
          description:
            'In one audited act (`org.suspend`, with the reason): every session of the org ends; its API keys are kept but refused (`403 org_suspended`); its device sockets close with 1008; its LiveKit participants are removed and no room token is issued; its live Twilio calls are hung up through the REST API (`org.calls_ended`); its Twilio webhooks answer "not in service" and store nothing; its scheduled calls stay pending (paused). Logins and switches into it answer `403 org_suspended`. Every instance within REVOCATION_POLL_MS. 409 when already suspended.',
        },
        SuspensionResult,
      ),
    },
    async (request) => resultJson(await suspension.suspend(...onOrg(request))),
  );

  app.post(
    '/api/admin/orgs/:id/resume',
    {
      schema: orgAct(
        {
          operationId: 'resumeOrg',
          summary: 'Resume a suspended or locked-down org (superuser)',
          description:
            "Audited (`org.resume`, with the reason). Its API keys and scheduled calls work again; its sessions never come back (people log in again). Only the platform superuser resumes, a lockdown too: whoever holds a breached owner's credentials must not be able to undo it. 409 when not suspended.",
        },
        ResumeResult,
      ),
    },
    async (request) => resumeJson(await suspension.resume(...onOrg(request))),
  );

  app.get(
    '/api/admin/suspended-orgs',
    {
      schema: {
        operationId: 'listSuspendedOrgs',
        tags: ['admin'],
        security,
        summary: 'Every suspended or locked-down org (superuser; the latest suspension first)',
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: responses({ 200: PageOf(SuspendedOrg) }, [400, 401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor } = request.query;
      const r = await suspension.listSuspended(requirePrincipal(request), { limit, cursor });
      return { items: r.items.map(suspendedOrgJson), next_cursor: r.next_cursor };
    },
  );

  app.post(
    '/api/orgs/current/lockdown',
    {
      schema: {
        operationId: 'lockDownCurrentOrg',
        tags: ['orgs'],
        security,
        summary: 'Lock down your org: the "we were breached" button (owner)',
        description:
          'The owner, in person (no API key, no superuser acting in the org), with the password and - when two-factor authentication is on - a current TOTP code (a backup code is not accepted), both counted like a login. Cuts the org off exactly like a suspension (see suspendOrg), audited as `org.lockdown` with the reason; your own session ends too. Only the platform superuser resumes it.',
        body: Type.Object(
          {
            reason: Reason,
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            code: Type.Optional(
              Type.String({ pattern: '^[0-9 ]{6,8}$', description: 'A current TOTP code' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: SuspensionResult }, [400, 401, 403, 409, 429]),
      },
    },
    async (request) =>
      resultJson(
        await suspension.lockdown(requirePrincipal(request), request.body, requestMeta(request)),
      ),
  );
};
