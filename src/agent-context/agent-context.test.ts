// The agent API as a worker uses it: load a participant's context with an `agent:context` key
// (email only with `users:read`), remember and forget one preference with an `agent:preferences`
// key — the other keys kept, concurrent writes of different keys all kept, the write audited by
// key name — and the member sees what the agent remembered in their own preferences.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { updateProfile } from '../test/auth-helpers.ts';
import { auditOf, createKey, type Team, team } from '../test/org-helpers.ts';
import { digestOf } from '../users/preferences.ts';

let t: TestApp;
let a: Team;
let contextKey: Record<string, string>;
let contextAndEmailKey: Record<string, string>;
let prefsKey: { id: string; headers: Record<string, string> };

beforeAll(async () => {
  t = await buildTestApp();
  a = await team(t);
  contextKey = (await createKey(t.app, a.admin, ['agent:context'])).headers;
  contextAndEmailKey = (await createKey(t.app, a.owner, ['agent:context', 'users:read'])).headers;
  prefsKey = await createKey(t.app, a.owner, ['agent:preferences']);
});
afterAll(() => t.close());

const context = (headers: Record<string, string>, identity: string) =>
  t.app.inject({ url: `/api/agent/context?identity=${identity}`, headers });
const remember = (identity: string, key: string, value: string | null) =>
  t.app.inject({
    method: 'PUT',
    url: `/api/agent/preferences/${identity}`,
    headers: prefsKey.headers,
    payload: { key, value },
  });

describe('GET /api/agent/context', () => {
  it('answers the participant’s profile, org, role and preferences, without the email', async () => {
    await updateProfile(t.app, a.member.headers, { full_name: 'Sam Member' });
    await t.app.inject({
      method: 'PUT',
      url: '/api/users/me/preferences',
      headers: a.member.headers,
      payload: { language: 'fr' },
    });
    const res = await context(contextKey, a.member.user.id);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      identity: a.member.user.id,
      user: { id: a.member.user.id, full_name: 'Sam Member' },
      org: { id: a.org.id, name: a.org.name },
      role: 'member',
      preferences: { language: 'fr' },
      preferences_updated_at: expect.any(String),
      preferences_digest: digestOf({ language: 'fr' }),
      voice_sessions: [],
    });
    expect(res.body).not.toContain(a.member.email);
  });

  it('adds the email when the key also holds users:read', async () => {
    const res = await context(contextAndEmailKey, a.manager.user.id);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.email).toBe(a.manager.email);
    expect(res.json().role).toBe('manager');
    expect(res.json().preferences).toEqual({});
    expect(res.json().preferences_updated_at).toBeNull();
  });

  it('an identity that is not a UUID is 400', async () => {
    const res = await context(contextKey, 'not-a-user');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });
});

describe('PUT /api/agent/preferences/{identity}', () => {
  it('sets one key and keeps the others; the member sees it; null forgets it', async () => {
    const who = a.admin.user.id;
    const first = await remember(who, 'preferred_name', 'Alex');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({
      identity: who,
      preferences: { preferred_name: 'Alex' },
      updated_at: expect.any(String),
      preferences_digest: digestOf({ preferred_name: 'Alex' }),
    });
    const second = await remember(who, 'language', 'es');
    expect(second.json().preferences).toEqual({ language: 'es', preferred_name: 'Alex' });

    const mine = await t.app.inject({ url: '/api/users/me/preferences', headers: a.admin.headers });
    expect(mine.json().preferences).toEqual({ language: 'es', preferred_name: 'Alex' });

    const forgot = await remember(who, 'preferred_name', null);
    expect(forgot.json().preferences).toEqual({ language: 'es' });
    const again = await remember(who, 'preferred_name', null);
    expect(again.statusCode).toBe(200);
    expect(again.json().preferences).toEqual({ language: 'es' });
  });

  it('is audited by key name: set and remove, as the API key, never the value', async () => {
    const who = a.owner.user.id;
    await remember(who, 'pin_hint', 'my dog’s name is Rex');
    await remember(who, 'pin_hint', 'my dog’s name is Rex'); // unchanged: not audited again
    await remember(who, 'pin_hint', null);
    const rows = (await auditOf(t.database, a.org.id)).filter(
      (r) => r.target_id === who && r.action.startsWith('preferences.'),
    );
    expect(rows.map((r) => [r.action, r.actor_type, r.metadata])).toEqual([
      ['preferences.set', 'api_key', { key: 'pin_hint', api_key_id: prefsKey.id }],
      ['preferences.remove', 'api_key', { key: 'pin_hint', api_key_id: prefsKey.id }],
    ]);
    expect(JSON.stringify(rows)).not.toContain('Rex');
  });

  it('keeps every key when workers write different keys at once', async () => {
    const who = a.manager.user.id;
    const keys = Array.from({ length: 12 }, (_, i) => `topic_${i}`);
    const results = await Promise.all(keys.map((k) => remember(who, k, 'yes')));
    expect(results.map((r) => r.statusCode)).toEqual(keys.map(() => 200));
    const ctx = await context(contextKey, who);
    expect(Object.keys(ctx.json().preferences).sort()).toEqual([...keys].sort());
  });

  it('the digest in the context is the digest of what was written', async () => {
    const who = a.member.user.id;
    const written = await remember(who, 'timezone', 'Europe/Paris');
    const ctx = await context(contextKey, who);
    expect(ctx.json().preferences_digest).toBe(written.json().preferences_digest);
    expect(ctx.json().preferences_digest).toBe(digestOf(ctx.json().preferences));
  });
});
