// Revocation reaches live device sockets: every event that ends a session, a device revoke and an
// API key that stops working close the affected sockets with 1008 — within 1 s on the instance
// that handled the event, within 5 s on a second instance sharing the database (the default
// REVOCATION_POLL_MS of 2 s) — and leave everyone else's sockets open.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, changePassword, forgotPassword, logOut } from '../test/auth-helpers.ts';
import {
  closedWithin,
  mustOpen,
  type Opened,
  recordingStream,
  refusal,
  requestTicket,
} from '../test/device-sockets.ts';
import { type CapturingMailer, capturingMailer } from '../test/mfa-helpers.ts';
import {
  ADMIN_ENV,
  createKey,
  logIn,
  type Person,
  person,
  removeMember,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';
import { linkFrom } from '../test/smtp.ts';

const rec1 = recordingStream();
const mail: CapturingMailer = capturingMailer();
let one: TestApp;
let two: TestApp;
let ws1: string;
let ws2: string;
let a: Team;
let su: Person;

beforeAll(async () => {
  one = await buildTestApp({ env: ADMIN_ENV, deps: { audioStream: rec1.handler, mailer: mail } });
  two = await buildTestApp({ env: ADMIN_ENV, database: one.database, deps: { mailer: mail } });
  ws1 = (await one.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  ws2 = (await two.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  a = await team(one, 'Live Org');
  su = await superuser(one);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
});

/** One socket on each instance for the same credential (query string), plus a bystander's. */
async function sockets(access: string, device = 'dev') {
  return {
    here: await mustOpen(`${ws1}/ws?token=${access}&device_name=${device}`),
    there: await mustOpen(`${ws2}/ws_pcm?token=${access}&device_name=${device}`),
    bystander: await mustOpen(`${ws1}/ws?token=${a.owner.access}&device_name=bystander`),
  };
}

/** Runs `act`, then checks both sockets closed in time with 1008 and the bystander did not. */
async function expectClosed(
  s: { here: Opened; there: Opened; bystander: Opened },
  act: () => Promise<void>,
  reason = 'revoked',
) {
  const since = Date.now();
  await act();
  const here = await closedWithin(s.here, since);
  const there = await closedWithin(s.there, since);
  expect(here).toMatchObject({ code: 1008, reason });
  expect(there).toMatchObject({ code: 1008, reason });
  expect(here.ms).toBeLessThan(1000);
  expect(there.ms).toBeLessThan(5000);
  expect(s.bystander.ws.readyState).toBe(s.bystander.ws.OPEN);
  s.bystander.ws.close();
}

/**
 * Runs `act`, then checks both sockets closed with 1008 revoked within the watcher's poll (5 s,
 * on the instance that acted too) and the bystander did not.
 */
async function expectClosedAtWatch(
  s: { here: Opened; there: Opened; bystander: Opened },
  act: () => Promise<unknown>,
) {
  const since = Date.now();
  await act();
  for (const side of [s.here, s.there]) {
    const c = await closedWithin(side, since);
    expect(c).toMatchObject({ code: 1008, reason: 'revoked' });
    expect(c.ms).toBeLessThan(5000);
  }
  expect(s.bystander.ws.readyState).toBe(s.bystander.ws.OPEN);
  s.bystander.ws.close();
}

async function ok(res: Promise<{ statusCode: number; body: string }>, status: number) {
  const r = await res;
  expect(r.statusCode, r.body).toBe(status);
}

describe('live device sockets close on', () => {
  it('logout (and the handler is told: its signal aborts with the reason)', async () => {
    const p = await person(one, a.org, 'member', 'logout');
    const s = await sockets(p.access);
    const handed = rec1.seen.find((r) => r.ctx.userId === p.user.id)!;
    await expectClosed(s, () => ok(logOut(one.app, p.headers), 204));
    expect(handed.ctx.signal.aborted).toBe(true);
    expect(handed.aborted).toBe('revoked');
  });

  it('logout-all', async () => {
    const p = await person(one, a.org, 'member', 'logout-all');
    const other = await logIn(one.app, p.email);
    const s = await sockets(other.access);
    await expectClosed(s, () => ok(logOut(one.app, p.headers, true), 204));
  });

  it('session revoke (from another session)', async () => {
    const p = await person(one, a.org, 'member', 'session');
    const device = await logIn(one.app, p.email);
    const s = await sockets(device.access);
    const list = await one.app.inject({ url: '/api/auth/sessions', headers: p.headers });
    const target = (list.json().items as { id: string; current: boolean }[]).find(
      (x) => !x.current,
    )!;
    await expectClosed(s, () =>
      ok(
        one.app.inject({
          method: 'DELETE',
          url: `/api/auth/sessions/${target.id}`,
          headers: p.headers,
        }),
        204,
      ),
    );
  });

  it('password change (every other session)', async () => {
    const p = await person(one, a.org, 'member', 'pwchange');
    const device = await logIn(one.app, p.email);
    const s = await sockets(device.access);
    await expectClosed(s, () =>
      ok(
        changePassword(
          one.app,
          p.headers,
          'correct horse battery staple 42',
          'another long passphrase 77 for devices',
        ),
        204,
      ),
    );
  });

  it('password reset', async () => {
    const p = await person(one, a.org, 'member', 'pwreset');
    const s = await sockets(p.access);
    await ok(forgotPassword(one.app, p.email), 202);
    await expect.poll(() => mail.to(p.email, /Reset your Switchboard password/).length).toBe(1);
    const m = mail.to(p.email, /Reset your Switchboard password/)[0]!;
    const token = new URL(linkFrom(m, '/reset-password?token=')).searchParams.get('token');
    await expectClosed(s, () =>
      ok(
        one.app.inject({
          method: 'POST',
          url: '/api/auth/password/reset',
          payload: { token, new_password: 'a brand new passphrase for 2026' },
        }),
        204,
      ),
    );
  });

  it('member removal', async () => {
    const p = await person(one, a.org, 'member', 'removed');
    const s = await sockets(p.access);
    await expectClosed(s, () => ok(removeMember(one.app, a.owner, p), 204));
  });

  it('user deactivation by the platform superuser', async () => {
    const p = await person(one, a.org, 'member', 'disabled');
    const s = await sockets(p.access);
    await expectClosed(s, () =>
      ok(
        one.app.inject({
          method: 'POST',
          url: `/api/admin/users/${p.user.id}/disable`,
          headers: su.headers,
        }),
        200,
      ),
    );
  });

  it('device revoke: that device only, on every instance', async () => {
    const p = await person(one, a.org, 'member', 'devrevoke');
    const s = await sockets(p.access, 'mic');
    const otherDevice = await mustOpen(`${ws2}/ws?token=${p.access}&device_name=phone`);
    const clientId = `${p.user.id.slice(-6)}-mic`;
    await expectClosed(
      s,
      () =>
        ok(
          one.app.inject({
            method: 'DELETE',
            url: `/api/devices/${clientId}`,
            headers: p.headers,
          }),
          204,
        ),
      'device revoked',
    );
    expect(otherDevice.ws.readyState).toBe(otherDevice.ws.OPEN);
    otherDevice.ws.close();
  });

  it('a ticket socket when the session that asked for the ticket logs out', async () => {
    const p = await person(one, a.org, 'member', 'ticket');
    const ticket = async () => {
      const r = await requestTicket(one.app, p.headers, { device_name: 'tab' });
      return r.json().ticket as string;
    };
    const s = {
      here: await mustOpen(`${ws1}/ws?ticket=${await ticket()}`),
      there: await mustOpen(`${ws2}/ws?ticket=${await ticket()}`),
      bystander: await mustOpen(`${ws1}/ws?token=${a.owner.access}&device_name=bystander`),
    };
    await expectClosed(s, () => ok(logOut(one.app, p.headers), 204));
  });
});

describe('sockets of a session that runs out close at the next watch, on every instance', () => {
  // Nobody revokes such a session, so the revocation list never names it: the watcher asks.
  const runOut = (what: 'lifetime' | 'idleness', userId: string) =>
    withSystem(one.database, (tx) =>
      what === 'lifetime'
        ? sql`update sessions set expires_at = now() - interval '1 second'
              where user_id = ${userId}`.execute(tx)
        : sql`update refresh_tokens set expires_at = now() - interval '1 second'
              where session_id in (select id from sessions where user_id = ${userId})`.execute(tx),
    );
  it('its absolute lifetime (SESSION_ABSOLUTE_TTL_SECONDS)', async () => {
    const p = await person(one, a.org, 'member', 'lifetime');
    await expectClosedAtWatch(await sockets(p.access), () => runOut('lifetime', p.user.id));
  });

  it('its refresh chain dead of idleness (REFRESH_TOKEN_IDLE_TTL_SECONDS)', async () => {
    const p = await person(one, a.org, 'member', 'idle');
    await expectClosedAtWatch(await sockets(p.access), () => runOut('idleness', p.user.id));
  });

  it('a ticket socket, when the session that asked for the ticket runs out', async () => {
    const p = await person(one, a.org, 'member', 'ticketlife');
    const ticket = async () =>
      (await requestTicket(one.app, p.headers, { device_name: 'tab' })).json().ticket as string;
    const s = {
      here: await mustOpen(`${ws1}/ws?ticket=${await ticket()}`),
      there: await mustOpen(`${ws2}/ws?ticket=${await ticket()}`),
      bystander: await mustOpen(`${ws1}/ws?token=${a.owner.access}&device_name=bystander`),
    };
    await expectClosedAtWatch(s, () => runOut('lifetime', p.user.id));
  });
});

describe('API-key sockets close (at the next watch, on every instance)', () => {
  async function keySockets(key: string) {
    return {
      here: await mustOpen(`${ws1}/ws?token=${key}&device_name=worker`),
      there: await mustOpen(`${ws2}/ws`, { headers: bearer(key) }),
      bystander: await mustOpen(`${ws1}/ws?token=${a.owner.access}&device_name=bystander`),
    };
  }
  it('when the key is revoked', async () => {
    const key = await createKey(one.app, a.admin, ['audio:write']);
    const s = await keySockets(key.key);
    await expectClosedAtWatch(s, () =>
      ok(
        one.app.inject({
          method: 'DELETE',
          url: `/api/api-keys/${key.id}`,
          headers: a.owner.headers,
        }),
        204,
      ),
    );
  });

  it('when its creator leaves the org', async () => {
    const creator = await person(one, a.org, 'admin', 'keycreator');
    const key = await createKey(one.app, creator, ['audio:write']);
    const s = await keySockets(key.key);
    await expectClosedAtWatch(s, () => ok(removeMember(one.app, a.owner, creator), 204));
  });
});

/**
 * One instance whose watcher looks only once a minute, with a team, for a describe block: what
 * happens within a second there is the instance acting on what it did itself. Filled in its
 * beforeAll.
 */
function loneInstance(orgName: string) {
  const lone = {} as { t: TestApp; ws: string; org: Team };
  beforeAll(async () => {
    lone.t = await buildTestApp({
      env: { ...ADMIN_ENV, REVOCATION_POLL_MS: '60000' },
      deps: { audioStream: rec1.handler },
    });
    lone.ws = (await lone.t.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    lone.org = await team(lone.t, orgName);
  });
  afterAll(() => lone.t?.close());
  return lone;
}

describe('API-key sockets close at once on the instance that revoked the key', () => {
  // The watcher (REVOCATION_POLL_MS) would find the key only after a minute here: a close
  // within a second is the revoking instance telling its sockets itself.
  const lone = loneInstance('Key Org');
  let root: Person;
  beforeAll(async () => {
    root = await superuser(lone.t);
  });

  async function closesAtOnce(key: string, act: () => Promise<void>) {
    const s = await mustOpen(`${lone.ws}/ws?token=${key}&device_name=worker`);
    const bystander = await mustOpen(`${lone.ws}/ws?token=${lone.org.owner.access}&device_name=by`);
    const since = Date.now();
    await act();
    const c = await closedWithin(s, since);
    expect(c).toMatchObject({ code: 1008, reason: 'revoked' });
    expect(c.ms).toBeLessThan(1000);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    bystander.ws.close();
  }

  it('DELETE /api/api-keys/{id}', async () => {
    const key = await createKey(lone.t.app, lone.org.admin, ['audio:write']);
    await closesAtOnce(key.key, () =>
      ok(
        lone.t.app.inject({
          method: 'DELETE',
          url: `/api/api-keys/${key.id}`,
          headers: lone.org.owner.headers,
        }),
        204,
      ),
    );
  });

  it("the creator's removal from the org", async () => {
    const creator = await person(lone.t, lone.org.org, 'admin', 'gone');
    const key = await createKey(lone.t.app, creator, ['audio:write']);
    await closesAtOnce(key.key, () => ok(removeMember(lone.t.app, lone.org.owner, creator), 204));
  });

  it("the creator's account disabled by the superuser", async () => {
    const creator = await person(lone.t, lone.org.org, 'admin', 'off');
    const key = await createKey(lone.t.app, creator, ['audio:write']);
    await closesAtOnce(key.key, () =>
      ok(
        lone.t.app.inject({
          method: 'POST',
          url: `/api/admin/users/${creator.user.id}/disable`,
          headers: root.headers,
        }),
        200,
      ),
    );
  });
});

describe('a credential that ends while its socket waits in the gate', () => {
  // The revocation listeners reach registered sockets only: one still waiting for its quota slot
  // is checked again once it holds the slot, and refused, its slot given back.
  const lone = loneInstance('Gate Org');

  /** Runs `act` while the gate waits for the device-socket slot, then lets the slot through. */
  function duringSlot(act: () => Promise<void>) {
    const quotas = lone.t.app.quotas;
    const take = quotas.acquire.bind(quotas);
    return vi.spyOn(quotas, 'acquire').mockImplementationOnce(async (...args) => {
      await act();
      return take(...args);
    });
  }

  const liveSockets = async () =>
    (
      await lone.t.app.inject({ url: '/api/orgs/current/usage', headers: lone.org.owner.headers })
    ).json().device_sockets.live as number;

  it('a logout: 1008 revoked, the slot given back', async () => {
    const login = await logIn(lone.t.app, lone.org.member.email);
    const before = await liveSockets();
    const spy = duringSlot(() => ok(logOut(lone.t.app, bearer(login.access)), 204));
    try {
      expect(await refusal(`${lone.ws}/ws?token=${login.access}&device_name=mid`)).toEqual({
        code: 1008,
        reason: 'revoked',
      });
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
    await expect.poll(liveSockets).toBe(before);
  });

  it('its device revoked: 1008 device revoked', async () => {
    const clientId = `${lone.org.member.user.id.slice(-6)}-gatedev`;
    const spy = duringSlot(() =>
      ok(
        lone.t.app.inject({
          method: 'DELETE',
          url: `/api/devices/${clientId}`,
          headers: lone.org.member.headers,
        }),
        204,
      ),
    );
    try {
      expect(
        await refusal(`${lone.ws}/ws?token=${lone.org.member.access}&device_name=gatedev`),
      ).toEqual({
        code: 1008,
        reason: 'device revoked',
      });
    } finally {
      spy.mockRestore();
    }
  });

  it('its API key deleted: 1008 revoked', async () => {
    const key = await createKey(lone.t.app, lone.org.admin, ['audio:write']);
    const spy = duringSlot(() =>
      ok(
        lone.t.app.inject({
          method: 'DELETE',
          url: `/api/api-keys/${key.id}`,
          headers: lone.org.owner.headers,
        }),
        204,
      ),
    );
    try {
      expect(await refusal(`${lone.ws}/ws?token=${key.key}&device_name=mid`)).toEqual({
        code: 1008,
        reason: 'revoked',
      });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('a superuser acting in an org through X-Switchboard-Org', () => {
  it('is refused on a device socket (1008 forbidden), never opened in the home org', async () => {
    const headers = { ...bearer(su.access), 'x-switchboard-org': a.org.id };
    expect(await refusal(`${ws1}/ws`, { headers })).toEqual({ code: 1008, reason: 'forbidden' });
  });

  it('gets no ticket either (403): a ticket would name the other org and open nothing', async () => {
    const headers = { ...bearer(su.access), 'x-switchboard-org': a.org.id };
    const r = await one.app.inject({
      method: 'POST',
      url: '/api/realtime/tickets',
      headers,
      payload: {},
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('forbidden');
  });
});

describe('shutdown', () => {
  it('closes every socket with 1001 and never hangs', async () => {
    const three = await buildTestApp({ database: one.database });
    const ws3 = (await three.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    const s = [
      await mustOpen(`${ws3}/ws?token=${a.member.access}`),
      await mustOpen(`${ws3}/ws_pcm?token=${a.manager.access}`),
    ];
    const since = Date.now();
    await three.close();
    expect(Date.now() - since).toBeLessThan(3000);
    for (const x of s) expect((await x.closed).code).toBe(1001);
  });
});
