// Voice routes with real credentials: bearer tokens, cookies (CSRF on writes), API keys narrowed by
// their scopes (reads follow the creator's role), and the platform superuser acting in an org.
import { beforeAll, describe, expect, it } from 'vitest';
import { appForFile } from '../test/app.ts';
import {
  cookieHeader,
  cookiesFrom,
  GOOD_PASSWORD,
  loginUser,
  postWithCookiesOnly,
} from '../test/auth-helpers.ts';
import {
  ADMIN_ENV,
  createKey,
  type Person,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';
import { uniqueNumber } from '../test/twilio.ts';

const t = appForFile({ env: ADMIN_ENV });
let a: Team;
let b: Team;
let su: Person;
let memberPhone: string;
let ownerPhone: string;

const post = (headers: Record<string, string>, url: string, payload: object) =>
  t.app.inject({ method: 'POST', url, headers, payload });

beforeAll(async () => {
  a = await team(t);
  b = await team(t, 'Other Org');
  su = await superuser(t);
  ownerPhone = (await post(a.owner.headers, '/api/phones', { number: uniqueNumber() })).json().id;
  memberPhone = (await post(a.member.headers, '/api/phones', { number: uniqueNumber() })).json().id;
  await post(b.owner.headers, '/api/phones', { number: uniqueNumber() });
});

const ids = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((x) => x.id);

describe('bearer tokens', () => {
  it('members list their own numbers, owners the whole org, nobody another org', async () => {
    const mine = await t.app.inject({ url: '/api/phones', headers: a.member.headers });
    expect(ids(mine)).toEqual([memberPhone]);
    const all = await t.app.inject({ url: '/api/phones', headers: a.owner.headers });
    expect(ids(all).sort()).toEqual([ownerPhone, memberPhone].sort());
  });
});

describe('cookies', () => {
  it('a cookie-authenticated write needs the CSRF header', async () => {
    const login = await loginUser(t.app, a.member.email, GOOD_PASSWORD);
    const cookies = cookiesFrom(login);
    const payload = { number: uniqueNumber() };
    const bare = await postWithCookiesOnly(t.app, '/api/phones', cookies, payload);
    expect(bare.statusCode).toBe(403);
    expect(bare.json().code).toBe('csrf_failed');
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/phones',
      headers: { cookie: cookieHeader(cookies), 'x-csrf-token': cookies.sb_csrf as string },
      payload,
    });
    expect(ok.statusCode).toBe(201);
  });
});

describe('API keys', () => {
  it('act within their scopes; reads follow the creator role', async () => {
    const reader = await createKey(t.app, a.owner, ['phones:read']);
    const list = await t.app.inject({ url: '/api/phones', headers: reader.headers });
    expect(list.statusCode).toBe(200);
    expect(ids(list)).toEqual(expect.arrayContaining([ownerPhone, memberPhone]));
    expect((await post(reader.headers, '/api/phones', { number: uniqueNumber() })).statusCode).toBe(
      403,
    );
    for (const url of [
      '/api/calls',
      '/api/messages',
      '/api/analytics/agent-summary',
      '/api/agents',
    ]) {
      expect((await t.app.inject({ url, headers: reader.headers })).statusCode, url).toBe(403);
    }
  });

  it('each log and analytics route needs its own read scope', async () => {
    for (const [scope, url] of [
      ['calls:read', '/api/calls'],
      ['messages:read', '/api/messages/conversations'],
      ['analytics:read', '/analytics/calls-by-date'],
      ['scheduled_calls:read', '/api/scheduled-calls'],
      ['message_agents:read', '/api/message-agents'],
      ['agents:read', '/agents'],
    ] as const) {
      const key = await createKey(t.app, a.owner, [scope]);
      expect((await t.app.inject({ url, headers: key.headers })).statusCode, url).toBe(200);
    }
  });

  it('a key with write scopes manages resources but never the Twilio credentials', async () => {
    const all = await createKey(t.app, a.owner, ['phones:write', 'phones:read', 'agents:write']);
    expect((await post(all.headers, '/api/phones', { number: uniqueNumber() })).statusCode).toBe(
      201,
    );
    const agent = await post(all.headers, '/api/agents', {
      name: 'by key',
      direction: 'outgoing',
      phone_id: memberPhone,
    });
    expect(agent.statusCode).toBe(201);
    expect(
      (await t.app.inject({ url: '/api/twilio/credentials', headers: all.headers })).statusCode,
    ).toBe(403);
  });
});

describe('the platform superuser', () => {
  it('acts in an org only when it names it', async () => {
    const inA = await t.app.inject({
      url: '/api/phones',
      headers: { ...su.headers, 'x-switchboard-org': a.org.id },
    });
    expect(inA.statusCode).toBe(200);
    expect(ids(inA).sort()).toEqual(expect.arrayContaining([ownerPhone, memberPhone]));
    const own = await t.app.inject({ url: '/api/phones', headers: su.headers });
    expect(ids(own)).not.toContain(ownerPhone);
  });
});
