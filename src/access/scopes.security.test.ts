// API-key scopes, both ways, over HTTP: a key holding one scope is answered on a few routes of
// every capability, and must reach exactly the routes whose permission that scope grants
// (`scopeFor`; a write scope also those of its read scope) and its creator's role holds (the
// matrix) — 403 everywhere else, so a scope that
// leaks into another resource, or a route that forgets the scope check, fails here. Rows follow
// the creator's role too: a member's key with the right scope still cannot reach another
// member's row (404, as for a missing one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../db/schema.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, LIVEKIT_ENV, type TestApp } from '../test/app.ts';
import { createKey, person, postPrompt, setRole, type Team, team } from '../test/org-helpers.ts';
import {
  API_KEY_SCOPES,
  grantedScopes,
  PERMISSIONS,
  type Permission,
  scopeFor,
} from './permissions.ts';

interface Probe {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: () => string;
  payload?: object;
  /** The permission the route checks first: without the scope that grants it, 403. */
  permission: Permission;
  /** The answer when scope and role allow it (404 for an id that names no row). */
  ok: number;
  /** The row is someone else's: a role without this permission does not see it (404). */
  othersRow?: Permission;
}

let t: TestApp;
let a: Team;
let othersPrompt: string;
const missing = newId();

const PROBES: Probe[] = [
  { method: 'GET', url: () => '/api/orgs/current', permission: 'org:read', ok: 200 },
  { method: 'GET', url: () => '/api/prompts', permission: 'prompts:read', ok: 200 },
  {
    method: 'GET',
    url: () => `/api/prompts/${othersPrompt}`,
    permission: 'prompts:read',
    ok: 200,
    othersRow: 'prompts:manage_any',
  },
  {
    method: 'POST',
    url: () => '/api/prompts',
    payload: { name: 'by a key', content: 'x' },
    permission: 'prompts:create',
    ok: 201,
  },
  {
    method: 'PATCH',
    url: () => `/api/prompts/${othersPrompt}`,
    payload: { content: 'edited by a key' },
    permission: 'prompts:manage_own',
    ok: 200,
    othersRow: 'prompts:manage_any',
  },
  { method: 'GET', url: () => '/api/phones', permission: 'phones:read', ok: 200 },
  {
    method: 'DELETE',
    url: () => `/api/phones/${missing}`,
    permission: 'phones:manage_own',
    ok: 404,
  },
  { method: 'GET', url: () => '/api/agents', permission: 'agents:read', ok: 200 },
  {
    method: 'DELETE',
    url: () => `/api/agents/${missing}`,
    permission: 'agents:manage_own',
    ok: 404,
  },
  { method: 'GET', url: () => '/api/message-agents', permission: 'message_agents:read', ok: 200 },
  {
    method: 'DELETE',
    url: () => `/api/message-agents/${missing}`,
    permission: 'message_agents:manage_own',
    ok: 404,
  },
  { method: 'GET', url: () => '/api/scheduled-calls', permission: 'scheduled_calls:read', ok: 200 },
  {
    method: 'GET',
    url: () => '/api/orgs/current/do-not-call',
    permission: 'do_not_call:read',
    ok: 200,
  },
  {
    method: 'DELETE',
    url: () => `/api/orgs/current/do-not-call/${missing}`,
    permission: 'do_not_call:manage',
    ok: 404,
  },
  {
    method: 'DELETE',
    url: () => `/api/scheduled-calls/${missing}`,
    permission: 'scheduled_calls:manage_own',
    ok: 404,
  },
  { method: 'GET', url: () => '/api/calls', permission: 'calls:read', ok: 200 },
  { method: 'GET', url: () => '/api/messages', permission: 'messages:read', ok: 200 },
  {
    method: 'GET',
    url: () => '/api/analytics/calls-by-date',
    permission: 'analytics:read',
    ok: 200,
  },
  { method: 'POST', url: () => '/api/livekit/token', permission: 'livekit:join', ok: 200 },
  { method: 'GET', url: () => '/api/voice-sessions', permission: 'voice_sessions:read', ok: 200 },
  { method: 'GET', url: () => '/api/conversations', permission: 'conversations:read', ok: 200 },
  { method: 'GET', url: () => '/api/orgs/current/usage', permission: 'quotas:read', ok: 200 },
  // No scope grants these: people only.
  {
    method: 'DELETE',
    url: () => `/api/conversations/${missing}`,
    permission: 'conversations:manage_own',
    ok: 404,
  },
  { method: 'GET', url: () => '/api/orgs/current/members', permission: 'members:read', ok: 200 },
  // The agent API: an id that names no member of the org is 404.
  {
    method: 'GET',
    url: () => `/api/agent/context?identity=${missing}`,
    permission: 'agent:context',
    ok: 404,
  },
  {
    method: 'PUT',
    url: () => `/api/agent/preferences/${missing}`,
    payload: { key: 'language', value: 'fr' },
    permission: 'agent:preferences',
    ok: 404,
  },
  // No scope grants these: people only.
  {
    method: 'PATCH',
    url: () => '/api/orgs/current',
    payload: { name: 'Renamed by a key' },
    permission: 'org:manage',
    ok: 200,
  },
  {
    method: 'GET',
    url: () => '/api/orgs/current/invitations',
    permission: 'invitations:manage',
    ok: 200,
  },
  { method: 'GET', url: () => '/api/api-keys', permission: 'api_keys:manage', ok: 200 },
  { method: 'GET', url: () => '/api/audit-logs', permission: 'audit:read', ok: 200 },
  {
    method: 'POST',
    url: () => '/api/realtime/tickets',
    payload: {},
    permission: 'audio:stream',
    ok: 201,
  },
  // People only: no scope grants it, so every key gets 403.
  { method: 'GET', url: () => '/api/devices', permission: 'devices:manage_own', ok: 200 },
];

const holds = (role: Role, permission: Permission) =>
  (PERMISSIONS[permission] as readonly Role[]).includes(role);

/** What the matrix says a key with `scope`, made by someone who is now `role`, gets. */
function expected(role: Role, scope: string, probe: Probe): number {
  const granting = scopeFor(probe.permission);
  // A write scope includes its read scope (SCOPE_INCLUDES): a change answers the record, so a
  // key that may change rows reads them too, on the read routes as well.
  if (!holds(role, probe.permission) || !granting || !grantedScopes([scope]).includes(granting))
    return 403;
  if (probe.othersRow && !holds(role, probe.othersRow)) return 404;
  return probe.ok;
}

/** Creator roles under test: the widest, and the narrowest a key's creator can end up with. */
const CREATORS = ['owner', 'member'] as const;
const keys = {} as Record<(typeof CREATORS)[number], Record<string, Record<string, string>>>;

beforeAll(async () => {
  // LiveKit configured (nothing is called on it: minting a token is local) so its routes answer.
  t = await buildTestApp({ env: LIVEKIT_ENV });
  a = await team(t);
  const prompt = await postPrompt(t.app, a.manager.headers, {
    name: 'the manager’s',
    content: 'x',
  });
  othersPrompt = prompt.json().id;
  // Only owners and admins create keys; a key then acts with its creator's current role, so the
  // member's keys are made by an admin who is then demoted.
  const demoted = await person(t, a.org, 'admin', 'demoted');
  keys.owner = {};
  keys.member = {};
  for (const scope of API_KEY_SCOPES) {
    keys.owner[scope] = (await createKey(t.app, a.owner, [scope])).headers;
    keys.member[scope] = (await createKey(t.app, demoted, [scope])).headers;
  }
  const demote = await setRole(t.app, a.owner, demoted, 'member');
  expect(demote.statusCode).toBe(200);
});
afterAll(() => t.close());

describe('the probe table covers every scope that grants something', () => {
  it('every probed permission is in the matrix, and every granting scope is probed', () => {
    const granting = API_KEY_SCOPES.filter((s) =>
      (Object.keys(PERMISSIONS) as Permission[]).some((p) => scopeFor(p) === s),
    );
    const probed = new Set(PROBES.map((p) => scopeFor(p.permission)));
    for (const scope of granting) expect(probed, scope).toContain(scope);
    for (const probe of PROBES) expect(Object.keys(PERMISSIONS)).toContain(probe.permission);
  });
});

describe.each(CREATORS)('a key whose creator is now %s', (role) => {
  it.each(API_KEY_SCOPES)('with only %s gets exactly what the scope grants', async (scope) => {
    const got: Record<string, number> = {};
    const want: Record<string, number> = {};
    for (const probe of PROBES) {
      const label = `${probe.method} ${probe.url()}`;
      const res = await t.app.inject({
        method: probe.method,
        url: probe.url(),
        headers: keys[role][scope]!,
        ...(probe.payload ? { payload: probe.payload } : {}),
      });
      got[label] = res.statusCode;
      want[label] = expected(role, scope, probe);
    }
    expect(got).toEqual(want);
  });
});
