// /api/orgs (the caller's orgs), /api/auth/switch-org, /api/orgs/current (settings), its members
// and admin-created users.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sessionCookiesHeader } from '../auth/cookies.ts';
import { SessionTokens, sessionBody, sessionResponse } from '../auth/session-response.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { NoContent, plainText, readableName, responses, withHeaders } from '../http/schemas.ts';
import { RoleOut } from '../users/user.json.ts';
import { changeMemberRole, listOrgMembers, removeMember } from './members.ts';
import {
  MemberOut,
  MembershipOut,
  memberJson,
  membershipJson,
  OrgDetailOut,
  orgDetailJson,
} from './org.json.ts';
import { OrgSettingsPatch } from './org-settings.ts';
import { createOrgUser } from './org-users.ts';
import { createOrg, getCurrentOrg, listMyOrgs, updateCurrentOrg } from './orgs.ts';
import { switchOrg } from './switch-org.ts';

const OrgName = readableName(200);
const UserIdParams = Type.Object({ user_id: Type.String({ format: 'uuid' }) });

export const orgRoutes: FastifyPluginAsyncTypebox<{ auth: AuthContext }> = async (
  app,
  { auth },
) => {
  const tags = ['orgs'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const answer = sessionResponse(auth);
  const db = auth.database;

  app.get(
    '/api/orgs',
    {
      schema: {
        operationId: 'listOrgs',
        tags,
        security,
        summary: 'The orgs you are an active member of, with your role in each',
        response: responses({ 200: Type.Object({ items: Type.Array(MembershipOut) }) }, [401, 403]),
      },
    },
    async (request) => {
      const p = requirePrincipal(request);
      const rows = await listMyOrgs(db, p);
      return { items: rows.map((m) => membershipJson(m, p.orgId)) };
    },
  );

  app.post(
    '/api/orgs',
    {
      schema: {
        operationId: 'createOrg',
        tags,
        security,
        summary: 'Create an org owned by you',
        description:
          'Switch to it with POST /api/auth/switch-org. At most RATE_LIMIT_ORG_CREATE (default 20 a day) per user.',
        body: Type.Object({ name: OrgName }, { additionalProperties: false }),
        response: responses({ 201: OrgDetailOut }, [401, 403, 429]),
      },
    },
    async (request, reply) => {
      const p = requirePrincipal(request);
      const org = await createOrg(auth, p, request.body.name, requestMeta(request));
      return reply.code(201).send(orgDetailJson(org));
    },
  );

  app.post(
    '/api/auth/switch-org',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'switchOrg',
        tags: ['auth', ...tags],
        security,
        summary: 'Act in another of your orgs: new tokens for it',
        description:
          'Ends the current session and opens one in the target org (same device, same expiry); the new access token carries that org and your role there. 403 unless you are an active member.',
        body: Type.Object(
          { org_id: Type.String({ format: 'uuid' }) },
          { additionalProperties: false },
        ),
        response: responses(
          {
            200: withHeaders(
              SessionTokens,
              sessionCookiesHeader('Only when the request was authenticated by the cookies.'),
            ),
          },
          [401, 403],
        ),
      },
    },
    async (request, reply) => {
      const p = requirePrincipal(request);
      const r = await switchOrg(auth, p, request.body.org_id.toLowerCase(), requestMeta(request));
      if (p.via === 'cookie') answer.setCookies(reply, r.tokens);
      return sessionBody(r);
    },
  );

  app.get(
    '/api/orgs/current',
    {
      schema: {
        operationId: 'getCurrentOrg',
        tags,
        security,
        summary: 'The org you act in, with its settings',
        response: responses({ 200: OrgDetailOut }, [401, 403, 404]),
      },
    },
    async (request) => orgDetailJson(await getCurrentOrg(db, requirePrincipal(request))),
  );

  app.patch(
    '/api/orgs/current',
    {
      schema: {
        operationId: 'updateCurrentOrg',
        tags,
        security,
        summary: 'Rename the org or change its policy settings (owners and admins)',
        description:
          '`settings.mfa_required_roles`: roles that must use MFA (members of them without MFA get enrolment-only sessions). `settings.allowed_email_domains`: when non-empty, invitations and admin-created users must use an address at exactly one of these domains; [] allows any. Settings not sent are left as they are.',
        body: Type.Object(
          { name: Type.Optional(OrgName), settings: Type.Optional(OrgSettingsPatch) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: responses({ 200: OrgDetailOut }, [401, 403, 404]),
      },
    },
    async (request) =>
      orgDetailJson(
        await updateCurrentOrg(db, requirePrincipal(request), request.body, requestMeta(request)),
      ),
  );

  app.get(
    '/api/orgs/current/members',
    {
      schema: {
        operationId: 'listMembers',
        tags,
        security,
        summary: 'Members of the current org (newest users first, cursor pagination)',
        querystring: Type.Object(
          {
            ...PageQuery,
            status: Type.Optional(
              Type.Union([Type.Literal('active'), Type.Literal('deactivated')]),
            ),
            role: Type.Optional(RoleOut),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: PageOf(MemberOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const r = await listOrgMembers(auth, requirePrincipal(request), { limit, ...rest });
      return { items: r.items.map(memberJson), next_cursor: r.next_cursor };
    },
  );

  app.patch(
    '/api/orgs/current/members/:user_id',
    {
      schema: {
        operationId: 'updateMember',
        tags,
        security,
        summary: "Change a member's role (owners and admins)",
        description:
          "Only an owner may grant owner or change an owner's role; the last owner cannot be demoted (409 last_owner). The member's sessions in this org end at once, so the new role applies from their next login.",
        params: UserIdParams,
        body: Type.Object({ role: RoleOut }, { additionalProperties: false }),
        response: responses({ 200: MemberOut }, [401, 403, 404, 409]),
      },
    },
    async (request) =>
      memberJson(
        await changeMemberRole(
          auth,
          requirePrincipal(request),
          request.params.user_id.toLowerCase(),
          request.body.role,
          requestMeta(request),
        ),
      ),
  );

  app.delete(
    '/api/orgs/current/members/:user_id',
    {
      schema: {
        operationId: 'removeMember',
        tags,
        security,
        summary: 'Remove a member (soft: the membership is deactivated)',
        description:
          "The member's sessions in this org end at once, API keys they created stop working, and their preferences in this org are deleted. Only an owner may remove an owner; the last owner cannot be removed (409 last_owner).",
        params: UserIdParams,
        response: responses({ 204: NoContent }, [401, 403, 404, 409]),
      },
    },
    async (request, reply) => {
      await removeMember(
        auth,
        requirePrincipal(request),
        request.params.user_id.toLowerCase(),
        requestMeta(request),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/orgs/current/users',
    {
      schema: {
        operationId: 'createOrgUser',
        tags,
        security,
        summary: 'Add a person to the current org by email address (owners and admins)',
        description:
          'A new address gets an account in the org, without a password: it cannot log in until its owner sets one through the mailed single-use link (/reset-password?token=…&new=1, valid SET_PASSWORD_TTL_DAYS). An address that already has an account anywhere gets an invitation to the org instead (it joins when its owner accepts). A pending invitation of a new address into the org is revoked (its link answers 410 invitation_revoked). Both answer the same 202, so the answer never tells whether an address has an account. The admin never chooses the password (a `password` field is refused). Works with public sign-up turned off. Limited per caller (RATE_LIMIT_USER_CREATE_ACTOR, default 30 an hour) and per org (RATE_LIMIT_USER_CREATE_ORG, default 200 a day), and per address (RATE_LIMIT_INVITE_ADDRESS, shared with invitations): 429 rate_limited. 403 role_above_caller, 403 email_domain_not_allowed, 409 already_member (already in this org).',
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 320 }),
            full_name: Type.Optional(plainText(200)),
            role: RoleOut,
          },
          { additionalProperties: false },
        ),
        response: responses(
          {
            202: Type.Object({
              email: Type.String({ description: 'The address, normalised' }),
              role: RoleOut,
            }),
          },
          [401, 403, 409, 429],
        ),
      },
    },
    async (request, reply) => {
      const r = await createOrgUser(
        auth,
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(202).send(r);
    },
  );
};
