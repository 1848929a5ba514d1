import { describe, expect, it } from 'vitest';
import { type Principal, tenantOf } from './principal.ts';

const su: Principal = { userId: 'u', orgId: 'o', role: 'owner', superuser: true };

describe('tenantOf', () => {
  it("keeps the superuser's ordinary requests scoped to its org (no cross-org flag)", () => {
    expect(tenantOf(su).superuser).toBe(false);
  });
  it('sets the cross-org flag only when acting in an org by header or on platform-admin routes', () => {
    expect(tenantOf({ ...su, actingInOrg: true }).superuser).toBe(true);
    expect(tenantOf(su, { platformAdmin: true }).superuser).toBe(true);
  });
  it('never sets it for anyone else, whatever they claim', () => {
    const user = { ...su, superuser: false };
    expect(tenantOf({ ...user, actingInOrg: true }).superuser).toBe(false);
    expect(tenantOf(user, { platformAdmin: true }).superuser).toBe(false);
  });
});
