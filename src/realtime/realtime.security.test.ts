// The device-socket gate against real `ws` clients on a listening app: each credential kind is
// accepted (and hands the stream handler the right context), every other socket is accepted and
// closed at once with 1008 and a short reason — never an HTTP error, never left open.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { createAccessTokens } from '../auth/access-token.ts';
import { withSystem } from '../db/tenant.ts';
import { loggerOptions } from '../logger.ts';
import { buildTestApp, type TestApp, testConfig } from '../test/app.ts';
import { bearer, cookieHeader, loginUser, logOut, registerUser } from '../test/auth-helpers.ts';
import { mustOpen, recordingStream, refusal, requestTicket } from '../test/device-sockets.ts';
import { claimsOf, enrolMfa, registerUnderMfaPolicy, setOrgSettings } from '../test/mfa-helpers.ts';
import { createKey, type Team, team } from '../test/org-helpers.ts';

const rec = recordingStream();
let t: TestApp;
let ws: string;
let a: Team;
let b: Team;
let origin: string;

beforeAll(async () => {
  t = await buildTestApp({
    deps: { audioStream: rec.handler },
    env: {
      REALTIME_MAX_FRAME_BYTES: '2048',
      REALTIME_MAX_SOCKETS_PER_USER: '3',
      REALTIME_MAX_SOCKETS_PER_ORG: '5',
    },
  });
  const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  ws = base.replace(/^http/, 'ws');
  origin = new URL(t.config.publicUrl).origin;
  a = await team(t, 'Org A');
  b = await team(t, 'Org B');
});
afterAll(() => t.close());

const last = () => rec.seen.at(-1)!;

async function ticketFor(headers: Record<string, string>, device_name?: string) {
  const res = await requestTicket(t.app, headers, device_name === undefined ? {} : { device_name });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { ticket: string; expires_in: number; device_name: string };
}

/** An upgrade request with exactly these headers; the HTTP answer (or 101). */
function rawUpgrade(path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = httpRequest(`${ws.replace(/^ws/, 'http')}${path}`, { headers, agent: false });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

async function closeAll(...sockets: { ws: { close(): void } }[]) {
  for (const s of sockets) s.ws.close();
  // Let the server see the closes before the next test counts sockets.
  await new Promise((r) => setTimeout(r, 50));
}

describe('accepted credentials', () => {
  it('?token= on /ws: the handler gets the org, user, device, client id and codec', async () => {
    const s = await mustOpen(`${ws}/ws?token=${a.member.access}&device_name=Kitchen%20Mic!`);
    expect(s.ready).toMatchObject({ type: 'ready' });
    const { ctx } = last();
    expect(ctx).toMatchObject({
      orgId: a.org.id,
      userId: a.member.user.id,
      deviceName: 'kitchen-mic',
      clientId: `${a.member.user.id.slice(-6)}-kitchen-mic`,
      codec: 'opus',
    });
    expect(ctx.deviceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.signal.aborted).toBe(false);
    await closeAll(s);
  });

  it('Authorization: Bearer on /ws_pcm (codec pcm); messages sent at once are not lost', async () => {
    const s = await new Promise<WebSocket>((resolve, reject) => {
      const c = new WebSocket(`${ws}/ws_pcm?device_name=phone`, {
        headers: bearer(a.owner.access),
      });
      c.on('open', () => {
        // Sent before the gate has finished: held until the handler listens.
        c.send(
          JSON.stringify({ type: 'audio-start', data: { rate: 16000, width: 2, channels: 1 } }),
        );
        c.send(Buffer.alloc(320, 1));
        resolve(c);
      });
      c.on('error', reject);
    });
    await expect
      .poll(() => last().ctx.userId === a.owner.user.id && last().messages.length)
      .toBe(2);
    expect(last().ctx.codec).toBe('pcm');
    expect(last().messages[0]!.binary).toBe(false);
    expect(last().messages[1]).toMatchObject({ binary: true });
    s.close();
  });

  it('Sec-WebSocket-Protocol: bearer, <token> is answered with the bearer subprotocol', async () => {
    const s = await mustOpen(`${ws}/ws`, { protocols: ['bearer', a.admin.access] });
    expect(s.ws.protocol).toBe('bearer');
    expect(last().ctx.userId).toBe(a.admin.user.id);
    expect(last().ctx.deviceName).toBe('device');
    await closeAll(s);
  });

  it('the session cookie with Origin = PUBLIC_URL', async () => {
    const u = await registerUser(t.app);
    const s = await mustOpen(`${ws}/ws`, { headers: { cookie: cookieHeader(u.cookies), origin } });
    expect(last().ctx.userId).toBe(u.userId);
    await closeAll(s);
  });

  it('a ticket: bound to its device name, for its user and org', async () => {
    const tk = await ticketFor(a.manager.headers, 'Browser Tab');
    expect(tk.device_name).toBe('browser-tab');
    expect(tk.expires_in).toBe(30);
    const s = await mustOpen(`${ws}/ws_pcm?ticket=${tk.ticket}`);
    expect(last().ctx).toMatchObject({
      userId: a.manager.user.id,
      orgId: a.org.id,
      deviceName: 'browser-tab',
    });
    await closeAll(s);
  });

  it('an API key with audio:write streams for its creator (query or header)', async () => {
    const key = await createKey(t.app, a.owner, ['audio:write']);
    const s1 = await mustOpen(`${ws}/ws?token=${key.key}&device_name=worker`);
    expect(last().ctx).toMatchObject({ userId: a.owner.user.id, orgId: a.org.id });
    const s2 = await mustOpen(`${ws}/ws?device_name=worker`, { headers: key.headers });
    await closeAll(s1, s2);
  });
});

describe('refused: accepted, then closed with 1008 and a reason', () => {
  it('no credential, garbage, a token signed by someone else', async () => {
    expect(await refusal(`${ws}/ws`)).toEqual({ code: 1008, reason: 'no token' });
    expect(await refusal(`${ws}/ws?token=garbage`)).toEqual({
      code: 1008,
      reason: 'invalid token',
    });
    expect(await refusal(`${ws}/ws`, { headers: bearer('a.b.c') })).toEqual({
      code: 1008,
      reason: 'invalid token',
    });
    expect(await refusal(`${ws}/ws?token=sb_nope_nope`)).toEqual({
      code: 1008,
      reason: 'invalid key',
    });
  });

  it('an expired access token', async () => {
    const past = createAccessTokens({
      getKeyRing: () => t.app.auth.getKeyRing(),
      issuer: t.config.auth.issuer,
      audience: t.config.auth.audience,
      ttlSeconds: 60,
      now: () => Date.now() - 3_600_000,
    });
    const c = claimsOf(a.member.access);
    const { token } = await past.sign({
      sub: c.sub as string,
      sid: c.sid as string,
      org: c.org as string,
      role: 'member',
      amr: ['pwd'],
    });
    expect(await refusal(`${ws}/ws?token=${token}`)).toEqual({ code: 1008, reason: 'expired' });
  });

  it('a logged-out session', async () => {
    const u = await registerUser(t.app);
    const out = await logOut(t.app, bearer(u.access));
    expect(out.statusCode).toBe(204);
    expect(await refusal(`${ws}/ws?token=${u.access}`)).toEqual({ code: 1008, reason: 'revoked' });
  });

  it('an enrolment-only (MFA pending) token, by query or header', async () => {
    const u = await registerUnderMfaPolicy(t);
    const login = await loginUser(t.app, u.email, u.password);
    const pending = login.json().access_token as string;
    expect(claimsOf(pending).mfa_pending).toBe(true);
    expect(await refusal(`${ws}/ws?token=${pending}`)).toEqual({
      code: 1008,
      reason: 'mfa pending',
    });
    expect(await refusal(`${ws}/ws`, { headers: bearer(pending) })).toEqual({
      code: 1008,
      reason: 'mfa pending',
    });
    // Nor can it get a ticket.
    const tk = await requestTicket(t.app, bearer(pending));
    expect(tk.statusCode).toBe(403);
  });

  it("an API key whose creator's role the org requires MFA of, the creator without it: by query, header or subprotocol", async () => {
    const c = await team(t, 'Key under MFA policy');
    const key = await createKey(t.app, c.admin, ['audio:write']);
    await setOrgSettings(t.database, c.org.id, { mfa_required_roles: ['admin'] });
    const pending = { code: 1008, reason: 'mfa pending' };
    expect(await refusal(`${ws}/ws?token=${key.key}`)).toEqual(pending);
    expect(await refusal(`${ws}/ws`, { headers: key.headers })).toEqual(pending);
    expect(await refusal(`${ws}/ws`, { protocols: ['bearer', key.key] })).toEqual(pending);
  });

  it("an MFA policy set while a key's socket is open closes it (1008 mfa pending) at the watcher's next look; a ticket minted before is refused; MFA on, the key streams again", async () => {
    const c = await team(t, 'Key socket, then MFA policy');
    const key = await createKey(t.app, c.admin, ['audio:write']);
    const open = await mustOpen(`${ws}/ws?token=${key.key}&device_name=worker`);
    const tk = await ticketFor(key.headers, 'later');
    // The bystander: an owner's key, a role the policy does not name.
    const ownerKey = await createKey(t.app, c.owner, ['audio:write']);
    const bystander = await mustOpen(`${ws}/ws?token=${ownerKey.key}&device_name=bystander`);
    await setOrgSettings(t.database, c.org.id, { mfa_required_roles: ['admin'] });
    // The watcher (REVOCATION_POLL_MS) closes it with what a new connect with the key gets.
    expect(await open.closed).toMatchObject({ code: 1008, reason: 'mfa pending' });
    const handed = rec.seen.length;
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}&device_name=later`)).toEqual({
      code: 1008,
      reason: 'mfa pending',
    });
    expect(rec.seen.length).toBe(handed);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    // Kept, not revoked: once the creator has MFA the key opens sockets (and tickets) again.
    await enrolMfa(t.app, { access: c.admin.access });
    const again = await mustOpen(`${ws}/ws?token=${key.key}&device_name=worker`);
    const tk2 = await ticketFor(key.headers, 'later');
    const byTicket = await mustOpen(`${ws}/ws?ticket=${tk2.ticket}&device_name=later`);
    await closeAll(again, byTicket, bystander);
  });

  it("an MFA policy set while a person's socket is open closes it (1008 mfa pending); their token and a ticket from before the policy open nothing; MFA proved in that session, it streams again", async () => {
    const c = await team(t, 'Person socket, then MFA policy');
    const open = await mustOpen(`${ws}/ws?token=${c.admin.access}&device_name=headset`);
    const tk = await ticketFor(bearer(c.admin.access), 'later');
    // The bystander: the owner, a role the policy does not name.
    const bystander = await mustOpen(`${ws}/ws?token=${c.owner.access}&device_name=bystander`);
    await setOrgSettings(t.database, c.org.id, { mfa_required_roles: ['admin'] });
    // Nothing revokes the session (its next refresh is pinned): the watcher judges it.
    expect(await open.closed).toMatchObject({ code: 1008, reason: 'mfa pending' });
    const handed = rec.seen.length;
    // The token from before the policy says nothing of it (no mfa_pending claim): the session does.
    expect(await refusal(`${ws}/ws?token=${c.admin.access}&device_name=headset`)).toEqual({
      code: 1008,
      reason: 'mfa pending',
    });
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}&device_name=later`)).toEqual({
      code: 1008,
      reason: 'mfa pending',
    });
    expect(rec.seen.length).toBe(handed);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    // MFA turned on in this very session: the session has proved it and streams again.
    await enrolMfa(t.app, { access: c.admin.access });
    const again = await mustOpen(`${ws}/ws?token=${c.admin.access}&device_name=headset`);
    await closeAll(again, bystander);
  });

  it('the session cookie from another origin, or with no Origin (cross-site WebSocket hijacking)', async () => {
    const u = await registerUser(t.app);
    const cookie = cookieHeader(u.cookies);
    expect(
      await refusal(`${ws}/ws`, { headers: { cookie, origin: 'https://evil.example' } }),
    ).toEqual({ code: 1008, reason: 'wrong origin' });
    expect(await refusal(`${ws}/ws`, { headers: { cookie } })).toEqual({
      code: 1008,
      reason: 'wrong origin',
    });
    expect(
      await refusal(`${ws}/ws`, { headers: { cookie, origin: `${origin}.evil.example` } }),
    ).toEqual({ code: 1008, reason: 'wrong origin' });
  });

  it('a replayed ticket, a made-up ticket, an expired ticket', async () => {
    const tk = await ticketFor(a.member.headers);
    const s = await mustOpen(`${ws}/ws?ticket=${tk.ticket}`);
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}`)).toEqual({
      code: 1008,
      reason: 'ticket used',
    });
    expect(await refusal(`${ws}/ws?ticket=rt_${'A'.repeat(43)}`)).toEqual({
      code: 1008,
      reason: 'invalid ticket',
    });
    expect(await refusal(`${ws}/ws?ticket=nonsense`)).toEqual({
      code: 1008,
      reason: 'invalid ticket',
    });
    const old = await ticketFor(a.member.headers);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('realtime_tickets')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('used_at', 'is', null)
        .execute(),
    );
    expect(await refusal(`${ws}/ws?ticket=${old.ticket}`)).toEqual({
      code: 1008,
      reason: 'expired',
    });
    await closeAll(s);
  });

  it('a ticket for another device, or presented with another org’s credential', async () => {
    const tk = await ticketFor(a.member.headers, 'phone');
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}&device_name=laptop`)).toEqual({
      code: 1008,
      reason: 'wrong device',
    });
    const tk2 = await ticketFor(a.member.headers, 'phone');
    expect(
      await refusal(`${ws}/ws?ticket=${tk2.ticket}`, { headers: bearer(b.owner.access) }),
    ).toEqual({ code: 1008, reason: 'ticket mismatch' });
  });

  it("a ticket whose holder has since left the org (another org's ticket)", async () => {
    const u = await registerUser(t.app);
    const tk = await ticketFor(bearer(u.access));
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('memberships')
        .set({ status: 'deactivated' })
        .where('user_id', '=', u.userId)
        .execute(),
    );
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}`)).toEqual({
      code: 1008,
      reason: 'not a member',
    });
  });

  it('a disabled account whose token is still within its poll window', async () => {
    const u = await registerUser(t.app);
    await withSystem(t.database, (tx) =>
      tx.updateTable('users').set({ status: 'disabled' }).where('id', '=', u.userId).execute(),
    );
    expect(await refusal(`${ws}/ws?token=${u.access}`)).toEqual({
      code: 1008,
      reason: 'account disabled',
    });
  });

  it('an API key without audio:write, a revoked key', async () => {
    const read = await createKey(t.app, a.owner, ['prompts:read']);
    expect(await refusal(`${ws}/ws?token=${read.key}`)).toEqual({
      code: 1008,
      reason: 'missing scope audio:write',
    });
    expect(await refusal(`${ws}/ws`, { headers: read.headers })).toEqual({
      code: 1008,
      reason: 'missing scope audio:write',
    });
    const key = await createKey(t.app, a.owner, ['audio:write']);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: a.owner.headers,
    });
    expect(del.statusCode).toBe(204);
    // A key of ours that works no more closes as its live sockets and its tickets do (README:
    // a dead API key is `revoked`); the holder of the secret alone learns it.
    for (const opts of [{}, { headers: key.headers }, { protocols: ['bearer', key.key] }]) {
      const url =
        'headers' in opts || 'protocols' in opts ? `${ws}/ws` : `${ws}/ws?token=${key.key}`;
      expect(await refusal(url, opts)).toEqual({ code: 1008, reason: 'revoked' });
    }
    // The same prefix with another secret is not that key: nothing is told about it.
    const forged = `${key.key.slice(0, 16)}${'A'.repeat(43)}`;
    expect(await refusal(`${ws}/ws?token=${forged}`)).toEqual({
      code: 1008,
      reason: 'invalid key',
    });
  });

  it('a token or ticket given twice in the query is refused as not one of ours, not as none', async () => {
    const tk = await ticketFor(a.member.headers, 'twice');
    expect(await refusal(`${ws}/ws?token=${a.member.access}&token=${a.member.access}`)).toEqual({
      code: 1008,
      reason: 'invalid token',
    });
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}&ticket=${tk.ticket}`)).toEqual({
      code: 1008,
      reason: 'invalid ticket',
    });
    // Not with a credential along either: the other credential is not used instead.
    expect(
      await refusal(`${ws}/ws?ticket=x&ticket=y`, { headers: bearer(a.member.access) }),
    ).toEqual({ code: 1008, reason: 'invalid ticket' });
    // The ticket was not read: it still opens its socket.
    const s = await mustOpen(`${ws}/ws?ticket=${tk.ticket}&device_name=twice`);
    await closeAll(s);
  });

  it('a ticket an API key asked for dies with the key: refused at connect, nothing recorded', async () => {
    const key = await createKey(t.app, a.owner, ['audio:write']);
    const tk = await ticketFor(key.headers);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: a.owner.headers,
    });
    expect(del.statusCode).toBe(204);
    const handed = rec.seen.length;
    expect(await refusal(`${ws}/ws?ticket=${tk.ticket}`)).toEqual({
      code: 1008,
      reason: 'revoked',
    });
    expect(rec.seen.length).toBe(handed);
  });

  it('a revoked device, from then on', async () => {
    const s = await mustOpen(`${ws}/ws?token=${b.member.access}&device_name=watch`);
    const clientId = `${b.member.user.id.slice(-6)}-watch`;
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/devices/${clientId}`,
      headers: b.member.headers,
    });
    expect(del.statusCode).toBe(204);
    expect((await s.closed).code).toBe(1008);
    expect(await refusal(`${ws}/ws?token=${b.member.access}&device_name=watch`)).toEqual({
      code: 1008,
      reason: 'device revoked',
    });
    // Another device of the same person is fine.
    const other = await mustOpen(`${ws}/ws?token=${b.member.access}&device_name=watch-2`);
    await closeAll(other);
  });
});

describe('limits', () => {
  it('a message above REALTIME_MAX_FRAME_BYTES closes the socket with 1009', async () => {
    const s = await mustOpen(`${ws}/ws_pcm?token=${b.admin.access}`);
    s.ws.send(Buffer.alloc(2049));
    expect((await s.closed).code).toBe(1009);
  });

  it('sockets per user and per org (this instance): 1013 try again later', async () => {
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await mustOpen(`${ws}/ws?token=${b.manager.access}`));
    expect(await refusal(`${ws}/ws?token=${b.manager.access}`)).toEqual({
      code: 1013,
      reason: 'try again later',
    });
    mine.push(await mustOpen(`${ws}/ws?token=${b.owner.access}`));
    mine.push(await mustOpen(`${ws}/ws?token=${b.owner.access}`));
    // Five in org B now: the org is full for everyone.
    expect(await refusal(`${ws}/ws?token=${b.admin.access}`)).toEqual({
      code: 1013,
      reason: 'try again later',
    });
    await closeAll(...mine);
    await expect.poll(() => t.app.deviceSockets.size).toBe(0);
    const again = await mustOpen(`${ws}/ws?token=${b.manager.access}`);
    await closeAll(again);
  });

  it('a ticket refused with 1013 (try again later) is not spent: the retry opens with it', async () => {
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await mustOpen(`${ws}/ws?token=${b.manager.access}`));
    const { ticket } = await ticketFor(bearer(b.manager.access));
    expect(await refusal(`${ws}/ws?ticket=${ticket}`)).toEqual({
      code: 1013,
      reason: 'try again later',
    });
    await closeAll(...mine);
    await expect.poll(() => t.app.deviceSockets.size).toBe(0);
    const retried = await mustOpen(`${ws}/ws?ticket=${ticket}`);
    await closeAll(retried);
    // Once it opened a socket, it is spent.
    expect(await refusal(`${ws}/ws?ticket=${ticket}`)).toEqual({
      code: 1008,
      reason: 'ticket used',
    });
  });

  it('a plain GET (no upgrade) is a 404 route_not_found problem, an upgrade elsewhere is an HTTP answer', async () => {
    for (const url of ['/ws', '/ws_pcm']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status: 404, code: 'route_not_found' });
      expect(res.json().detail).toContain('WebSocket');
    }
    const status = await new Promise<number>((resolve) => {
      const c = new WebSocket(`${ws}/api/devices`);
      c.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      c.on('open', () => resolve(101));
      c.on('error', () => {});
    });
    expect(status).toBe(401);
  });

  it('a malformed handshake is a 400 validation_failed problem naming the header, and spends no ticket', async () => {
    const tk = await ticketFor(a.member.headers, 'handshake');
    const good = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    const cases: [Record<string, string | undefined>, string][] = [
      [{ 'sec-websocket-key': undefined }, 'Sec-WebSocket-Key'],
      [{ 'sec-websocket-key': 'short' }, 'Sec-WebSocket-Key'],
      [{ 'sec-websocket-version': '12' }, 'Sec-WebSocket-Version'],
      [{ 'sec-websocket-protocol': 'bearer, a b' }, 'Sec-WebSocket-Protocol'],
      [{ 'sec-websocket-protocol': 'bearer, bearer' }, 'Sec-WebSocket-Protocol'],
      [{ upgrade: 'h2c' }, 'Upgrade'],
    ];
    for (const path of ['/ws', '/ws_pcm']) {
      for (const [change, field] of cases) {
        const headers = Object.fromEntries(
          Object.entries({ ...good, ...change }).filter(([, v]) => v !== undefined),
        ) as Record<string, string>;
        const res = await rawUpgrade(
          `${path}?ticket=${tk.ticket}&device_name=handshake`,
          headers,
        ).catch((e) => {
          throw new Error(`${path} ${JSON.stringify(change)}: ${e.message}`);
        });
        expect(res.status, `${path} ${JSON.stringify(change)}`).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const body = JSON.parse(res.body);
        expect(body).toMatchObject({ status: 400, code: 'validation_failed' });
        expect(body.errors).toEqual([{ field, message: expect.any(String) }]);
        if (field === 'Sec-WebSocket-Version') {
          expect(res.headers['sec-websocket-version']).toBe('13, 8');
          expect(body.errors[0].message).toBe('must be 13 (or 8)');
        }
      }
    }
    // None of them read the ticket: it still opens its socket.
    const s = await mustOpen(`${ws}/ws?ticket=${tk.ticket}&device_name=handshake`);
    await closeAll(s);
  });
});

describe('logs', () => {
  it('never carry a query token, a ticket or a subprotocol token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = pino(loggerOptions({ ...testConfig(), logLevel: 'trace' }), sink);
    const t2 = await buildTestApp({ database: t.database, deps: { logger } });
    try {
      const base = (await t2.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
      const tk = await ticketFor(a.member.headers);
      const s1 = await mustOpen(`${base}/ws?token=${a.member.access}&device_name=log`);
      const s2 = await mustOpen(`${base}/ws?ticket=${tk.ticket}`);
      const s3 = await mustOpen(`${base}/ws`, { protocols: ['bearer', a.member.access] });
      await refusal(`${base}/ws?token=${a.member.access}x`);
      await closeAll(s1, s2, s3);
      const out = lines.join('');
      expect(out).toContain('token=[REDACTED]');
      expect(out).toContain('ticket=[REDACTED]');
      expect(out).toContain('device socket accepted');
      expect(out).not.toContain(a.member.access);
      expect(out).not.toContain(tk.ticket);
    } finally {
      await t2.close();
    }
  });
});

describe("the request authenticator's refusals close the socket, never an HTTP error", () => {
  it('an API key over RATE_LIMIT_API_KEY in the Authorization header → 1013 try again later', async () => {
    const limited = await buildTestApp({
      deps: { audioStream: rec.handler },
      env: { RATE_LIMIT_API_KEY: '2/60' },
    });
    onTestFinished(() => limited.close());
    const url = `${(await limited.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')}/ws_pcm`;
    const c = await team(limited, 'Limited');
    const key = await createKey(limited.app, c.owner, ['audio:write']);
    for (let i = 0; i < 2; i++) {
      const s = await mustOpen(url, { headers: key.headers });
      await closeAll(s);
    }
    expect(await refusal(url, { headers: key.headers })).toEqual({
      code: 1013,
      reason: 'try again later',
    });
  });

  it("X-Switchboard-Org naming another org, or not an org id → 1008 with the problem's code", async () => {
    const headers = { ...bearer(a.member.access), 'x-switchboard-org': b.org.id };
    expect(await refusal(`${ws}/ws`, { headers })).toEqual({ code: 1008, reason: 'forbidden' });
    expect(
      await refusal(`${ws}/ws`, { headers: { ...headers, 'x-switchboard-org': 'nope' } }),
    ).toEqual({ code: 1008, reason: 'validation_failed' });
    // Named beside a credential the request authenticator does not read (query, subprotocol): the
    // gate refuses it too, rather than opening the socket in the credential's own org.
    expect(
      await refusal(`${ws}/ws?token=${a.member.access}`, {
        headers: { 'x-switchboard-org': b.org.id },
      }),
    ).toEqual({ code: 1008, reason: 'forbidden' });
    // Not an org id is malformed input whatever carries the credential, and it is refused before
    // a ticket is redeemed: the ticket still opens its socket afterwards.
    expect(
      await refusal(`${ws}/ws?token=${a.member.access}`, {
        headers: { 'x-switchboard-org': 'nope' },
      }),
    ).toEqual({ code: 1008, reason: 'validation_failed' });
    const tk = await ticketFor(a.member.headers);
    expect(
      await refusal(`${ws}/ws?ticket=${tk.ticket}`, { headers: { 'x-switchboard-org': 'nope' } }),
    ).toEqual({ code: 1008, reason: 'validation_failed' });
    await closeAll(await mustOpen(`${ws}/ws?ticket=${tk.ticket}`));
    // The org the member is in is no act at all: accepted.
    const own = await mustOpen(`${ws}/ws`, {
      headers: { ...headers, 'x-switchboard-org': a.org.id },
    });
    await closeAll(own);
  });
});
