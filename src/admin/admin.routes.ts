// /api/admin/*: the platform superuser's routes.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { IdParams, responses, Timestamp } from '../http/schemas.ts';
import { userJson } from '../users/user.json.ts';
import type { AdminUserRow } from './admin.repository.ts';
import {
  adminListOrgs,
  adminListUsers,
  adminRotateSigningKey,
  adminSetUserStatus,
} from './admin.ts';

const AdminOrgOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: Type.Union([Type.Literal('company'), Type.Literal('personal')]),
  active_members: Type.Integer(),
  created_at: Timestamp,
});

const AdminUserOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  full_name: Type.Union([Type.String(), Type.Null()]),
  is_superuser: Type.Boolean(),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  email_verified: Type.Boolean(),
  mfa_enabled: Type.Boolean(),
  created_at: Timestamp,
});

/** The public shape of a user, and whether the account is active. */
function adminUserJson(u: AdminUserRow) {
  return { ...userJson(u), status: u.status };
}

export const adminRoutes: FastifyPluginAsyncTypebox<{ auth: AuthContext }> = async (
  app,
  { auth },
) => {
  const tags = ['admin'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

  app.get(
    '/api/admin/orgs',
    {
      schema: {
        operationId: 'listAllOrgs',
        tags,
        security,
        summary: 'Every org on the platform (superuser; newest first, cursor pagination)',
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: responses({ 200: PageOf(AdminOrgOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor } = request.query;
      const r = await adminListOrgs(auth, requirePrincipal(request), { limit, cursor });
      return {
        items: r.items.map((o) => ({
          id: o.id,
          name: o.name,
          kind: o.kind,
          active_members: Number(o.active_members ?? 0),
          created_at: o.created_at.toISOString(),
        })),
        next_cursor: r.next_cursor,
      };
    },
  );

  app.get(
    '/api/admin/users',
    {
      schema: {
        operationId: 'listAllUsers',
        tags,
        security,
        summary: 'Every user on the platform (superuser; newest first, cursor pagination)',
        querystring: Type.Object(
          {
            ...PageQuery,
            email: Type.Optional(
              Type.String({ minLength: 1, maxLength: 320, description: 'Part of the address' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: PageOf(AdminUserOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const r = await adminListUsers(auth, requirePrincipal(request), { limit, ...rest });
      return { items: r.items.map(adminUserJson), next_cursor: r.next_cursor };
    },
  );

  for (const [action, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    app.post(
      `/api/admin/users/:id/${action}`,
      {
        schema: {
          operationId: action === 'disable' ? 'disableUser' : 'enableUser',
          tags,
          security,
          summary:
            action === 'disable'
              ? 'Disable an account: it cannot log in, and all its sessions and API keys stop at once'
              : 'Re-enable a disabled account',
          params: IdParams,
          response: responses({ 200: AdminUserOut }, [401, 403, 404, 409]),
        },
      },
      async (request) =>
        adminUserJson(
          await adminSetUserStatus(
            auth,
            requirePrincipal(request),
            request.params.id.toLowerCase(),
            status,
            requestMeta(request),
          ),
        ),
    );
  }

  app.post(
    '/api/admin/signing-keys/rotate',
    {
      schema: {
        operationId: 'rotateSigningKey',
        tags,
        security,
        summary: 'Rotate the access-token signing key (superuser)',
        description:
          'Stages a new Ed25519 key: it is published in the JWKS at once (other instances within 30 seconds) and starts signing at `activates_at`, after SIGNING_KEY_PUBLISH_DELAY_SECONDS, so verifiers that cached the JWKS know it by then. The previous key then retires; tokens it signed stay valid until they expire (its public key stays in the JWKS meanwhile). One staged key at a time: rotating again before `activates_at` answers 409 `signing_key_rotation_pending`.\n\nAfter a key compromise call it with `?compromised=true`: the new key signs at once and every other key (the active one, a staged one, the retired ones) is withdrawn: gone from the JWKS and no longer trusted, on this instance at once and on the others at their next key reload (within 30 seconds). Every access and media token they signed stops working; clients refresh (refresh tokens are opaque, not signed) and get tokens of the new key. Verifiers holding a cached JWKS refetch it on the unknown `kid`.',
        querystring: Type.Object(
          {
            compromised: Type.Optional(
              Type.Boolean({
                description:
                  'true: withdraw every other key now (a compromise), instead of letting the old one verify its tokens until they expire',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses(
          {
            200: Type.Object({
              kid: Type.String({ description: 'The new key, published now' }),
              retired_kid: Type.Union([Type.String(), Type.Null()], {
                description: 'The key it replaces, which retires at `activates_at`',
              }),
              withdrawn_kids: Type.Array(Type.String(), {
                description: 'With `compromised`: the keys withdrawn (empty otherwise)',
              }),
              activates_at: Type.String({
                format: 'date-time',
                description: 'When the new key starts signing',
              }),
            }),
          },
          [401, 403, 409],
        ),
      },
    },
    async (request) => {
      const r = await adminRotateSigningKey(auth, requirePrincipal(request), requestMeta(request), {
        compromised: request.query.compromised === true,
      });
      return {
        kid: r.kid,
        retired_kid: r.retiredKid,
        withdrawn_kids: r.withdrawnKids,
        activates_at: r.activatesAt.toISOString(),
      };
    },
  );
};
