import { describe, expect, it } from 'vitest';
import {
  API_KEY_SCOPES,
  can,
  canManageRow,
  canSeeRow,
  PERMISSIONS,
  ROLES,
  SCOPES,
  scopeFor,
  seesWholeOrg,
} from './permissions.ts';

describe('permission matrix', () => {
  it('owners and admins manage the org; managers and members do not', () => {
    for (const perm of [
      'org:manage',
      'members:manage',
      'invitations:manage',
      'api_keys:manage',
      'audit:read',
    ] as const) {
      expect(can({ role: 'owner' }, perm)).toBe(true);
      expect(can({ role: 'admin' }, perm)).toBe(true);
      expect(can({ role: 'manager' }, perm)).toBe(false);
      expect(can({ role: 'member' }, perm)).toBe(false);
    }
  });

  it('managers manage every prompt; members only their own', () => {
    expect(canManageRow({ role: 'manager', userId: 'm' }, 'prompts', 'someone')).toBe(true);
    expect(canManageRow({ role: 'member', userId: 'm' }, 'prompts', 'someone')).toBe(false);
    expect(canManageRow({ role: 'member', userId: 'm' }, 'prompts', 'm')).toBe(true);
  });

  it('API keys act only within their scopes and never manage people, keys or settings', () => {
    const key = { role: 'owner' as const, scopes: ['prompts:read'] };
    expect(can(key, 'prompts:read')).toBe(true);
    expect(can(key, 'prompts:create')).toBe(false);
    const writer = { role: 'owner' as const, scopes: ['prompts:read', 'prompts:write'] };
    expect(can(writer, 'prompts:manage_any')).toBe(true);
    const everything = { role: 'owner' as const, scopes: Object.keys(PERMISSIONS) };
    for (const perm of [
      'members:manage',
      'api_keys:manage',
      'org:manage',
      'invitations:manage',
      'audit:read',
    ] as const) {
      expect(scopeFor(perm)).toBeNull();
      expect(can(everything, perm)).toBe(false);
    }
  });

  it('no role is a typo: every entry lists known roles only', () => {
    for (const roles of Object.values(PERMISSIONS)) {
      for (const r of roles) expect(['owner', 'admin', 'manager', 'member']).toContain(r);
    }
  });

  it('every permission a scope grants exists, and is granted by that scope alone', () => {
    for (const scope of API_KEY_SCOPES) {
      for (const perm of SCOPES[scope]) {
        expect(Object.keys(PERMISSIONS), `${scope} grants ${perm}`).toContain(perm);
        expect(scopeFor(perm), perm).toBe(scope);
      }
    }
  });

  it('every scope grants a permission', () => {
    const grantingNothing = API_KEY_SCOPES.filter(
      (scope) => (SCOPES[scope] as readonly string[]).length === 0,
    );
    expect(grantingNothing).toEqual([]);
  });

  it('the agent API is granted to keys whose creator sees the whole org, never to members', () => {
    for (const perm of ['agent:context', 'agent:preferences'] as const) {
      for (const role of ROLES) {
        expect(can({ role, scopes: [perm] }, perm), `${role} ${perm}`).toBe(seesWholeOrg({ role }));
      }
      expect(
        can({ role: 'owner', scopes: ['agent:context', 'agent:preferences'] }, 'members:read'),
      ).toBe(false);
    }
    expect(scopeFor('members:read')).toBe('users:read');
  });

  it('managers and up see every row of the org; members only their own', () => {
    for (const role of ['owner', 'admin', 'manager'] as const) {
      expect(canSeeRow({ role, userId: 'm' }, 'someone')).toBe(true);
    }
    expect(canSeeRow({ role: 'member', userId: 'm' }, 'someone')).toBe(false);
    expect(canSeeRow({ role: 'member', userId: 'm' }, 'm')).toBe(true);
  });

  it('who may manage any row of an owned resource is who sees the whole org', () => {
    for (const resource of [
      'prompts',
      'phones',
      'agents',
      'message_agents',
      'scheduled_calls',
    ] as const) {
      for (const role of ROLES) {
        expect(can({ role }, `${resource}:manage_any`), `${role} ${resource}`).toBe(
          seesWholeOrg({ role }),
        );
      }
    }
  });
});
