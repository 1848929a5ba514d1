// Media-token introspection, for agent workers that prefer asking over verifying the JWT against
// the JWKS themselves. The answer is deliberately binary: anything short of "a valid token of the
// caller's own org, for a call that is still live and still the token's agent" is {active:false}
// with nothing else, so the endpoint cannot be used to learn which orgs, calls or agents exist,
// nor why a token was refused.
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { withTenant } from '../db/tenant.ts';
import { callBySid } from './call-log.repository.ts';
import { isFinal } from './call-transition.ts';
import type { MediaTokens } from './stream-token.ts';

export type Introspection =
  | { active: false }
  | { active: true; call_sid: string; org_id: string; agent_id: string; exp: number };

const INACTIVE: Introspection = { active: false };

export function createMediaTokenService(database: Database, mediaTokens: MediaTokens) {
  return {
    async introspect(p: Principal, token: string): Promise<Introspection> {
      requirePermission(p, 'calls:read');
      const claims = await mediaTokens.verify(token);
      // Another org's token is refused before any lookup: its call is not the caller's business.
      if (!claims || claims.org !== p.orgId) return INACTIVE;
      const call = await withTenant(database, tenantOf(p), (tx) =>
        callBySid(tx, p.orgId, claims.sub),
      );
      // An ended call's token must not keep a stream (or a replay of it) alive until exp.
      if (!call || isFinal(call.status) || call.agent_id !== claims.agent) return INACTIVE;
      return {
        active: true,
        call_sid: claims.sub,
        org_id: claims.org,
        agent_id: claims.agent,
        exp: claims.exp,
      };
    },
  };
}

export type MediaTokenService = ReturnType<typeof createMediaTokenService>;
