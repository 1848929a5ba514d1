// /api/orgs/current/invitations (owners and admins) and POST /api/invitations/accept (anyone
// holding the mailed token).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sessionCookiesHeader } from '../auth/cookies.ts';
import { SessionTokens, sessionResponse } from '../auth/session-response.ts';
import { deleteByIdRoute } from '../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { plainText, responses, withHeaders } from '../http/schemas.ts';
import { OrgOut, orgJson, RoleOut, UserOut, userJson } from '../users/user.json.ts';
import { acceptInvitation } from './invitation-accept.ts';
import { createInvitation, listInvitations, revokeInvitation } from './invitations.ts';
import { InvitationOut, invitationJson } from './org.json.ts';

export const invitationRoutes: FastifyPluginAsyncTypebox<{ auth: AuthContext }> = async (
  app,
  { auth },
) => {
  const tags = ['invitations'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const answer = sessionResponse(auth);

  app.post(
    '/api/orgs/current/invitations',
    {
      schema: {
        operationId: 'createInvitation',
        tags,
        security,
        summary: 'Invite someone to the current org by email (owners and admins)',
        description: `Mails a single-use link (/accept-invite?token=…) valid INVITATION_TTL_DAYS (default 7). Inviting the same address again replaces its pending invitation (two sent at once: the later replaces the earlier; an org never holds two pending invitations of one address). 403 role_above_caller for a role above yours; 403 email_domain_not_allowed outside the org's allowed domains; 409 already_member; 409 conflict when another writer's invitation of the address got in at that moment (send it again); 429 rate_limited past RATE_LIMIT_INVITE_ACTOR (invitations per inviter) or RATE_LIMIT_INVITE_ADDRESS (invitations of one address into the org), before anything is written or mailed.`,
        body: Type.Object(
          { email: Type.String({ minLength: 3, maxLength: 320 }), role: RoleOut },
          { additionalProperties: false },
        ),
        response: responses({ 201: InvitationOut }, [401, 403, 409, 429]),
      },
    },
    async (request, reply) => {
      const inv = await createInvitation(
        auth,
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(201).send(invitationJson(inv));
    },
  );

  app.get(
    '/api/orgs/current/invitations',
    {
      schema: {
        operationId: 'listInvitations',
        tags,
        security,
        summary: 'Pending invitations (newest first, cursor pagination)',
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: responses({ 200: PageOf(InvitationOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor } = request.query;
      const r = await listInvitations(auth, requirePrincipal(request), { limit, cursor });
      return { items: r.items.map(invitationJson), next_cursor: r.next_cursor };
    },
  );

  deleteByIdRoute(
    app,
    '/api/orgs/current/invitations/:id',
    {
      operationId: 'revokeInvitation',
      tags,
      security,
      summary: 'Revoke a pending invitation: its link stops working',
    },
    async (request, id) =>
      revokeInvitation(auth, requirePrincipal(request), id.toLowerCase(), requestMeta(request)),
  );

  app.post(
    '/api/invitations/accept',
    {
      // Taken without a credential too (a new address): a pending (MFA enrolment) session along
      // must not refuse it; joining another org reaches nothing of the one that requires MFA.
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'acceptInvitation',
        // An address with an account accepts logged in as it; a new address needs no credential.
        security: [{ bearerAuth: [] }, { cookieAuth: [] }, {}],
        tags,
        summary: 'Accept an invitation',
        description:
          "For an address with an account: call it logged in as that account (else 403 invitation_wrong_account); answers 200 with the org joined (switch to it with POST /api/auth/switch-org). Or, with no session, send the account's `password` (and `code`, a TOTP or backup code, when the account has MFA: without it 400 validation_failed on `code`), checked and counted as a login checks it (a wrong password: 403 invitation_wrong_account, as for anyone who is not the account; a wrong code: 401 invalid_mfa or mfa_code_reused; 429 beyond the login and MFA limits): answers 201 with tokens and cookies in the org, as a login would; the one way back in for an account that belongs to no org any more (a login needs one). For a new address: send `password` (and optionally `full_name`); the account is created and answers 201 with tokens, like sign-up (but no sign-up: it spends nothing of RATE_LIMIT_REGISTER_IP and counts on the org's RATE_LIMIT_USER_CREATE_ORG; refused passwords or addresses count on RATE_LIMIT_REGISTER_REFUSED_IP; 429 beyond either). Refused: unknown token 400 invalid_token, used 409 invitation_used, expired 410 invitation_expired, revoked 410 invitation_revoked, inviter no longer an active member allowed to grant the role 410 invitation_authority_lost (the invitation is then revoked).",
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: 512 }),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
            full_name: Type.Optional(plainText(200)),
            code: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 64,
                description:
                  'With `password`, for an account that has MFA and no session here: a 6-digit code from the authenticator app, or one of the backup codes',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses(
          {
            200: Type.Object({ user: UserOut, org: OrgOut, role: RoleOut }),
            201: withHeaders(SessionTokens, sessionCookiesHeader()),
          },
          [401, 403, 409, 410, 429],
        ),
      },
    },
    async (request, reply) => {
      const r = await acceptInvitation(auth, request.principal, request.body, requestMeta(request));
      const base = { user: userJson(r.user), org: orgJson(r.org), role: r.role };
      if (r.kind === 'joined') return reply.code(200).send(base);
      answer.setCookies(reply, r.tokens);
      return reply.code(201).send({ ...base, ...r.tokens });
    },
  );
};
