// Device names and client ids, the devices API (own devices, revoke with audit), tickets (issued
// to people and audio:write keys, stored hashed) and the devices table's row-level security.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { mustOpen, recordingStream, requestTicket } from '../test/device-sockets.ts';
import { auditOf, createKey, type Team, team } from '../test/org-helpers.ts';
import { clientIdFor, sanitizeDeviceName } from './device-name.ts';

describe('device names', () => {
  it.each([
    ['phone', 'phone'],
    ['Kitchen Mic', 'kitchen-mic'],
    ['my_watch.v2', 'my-watch-v2'],
    ['  --Héllo wörld!!--  ', 'hello-world'],
    ['a'.repeat(40), 'a'.repeat(32)],
    [`${'b'.repeat(31)}-c`, 'b'.repeat(31)],
    ['😀😀', 'device'],
    ['', 'device'],
    [undefined, 'device'],
  ])('%j → %s', (raw, name) => {
    expect(sanitizeDeviceName(raw)).toBe(name);
    expect(name).toMatch(/^[a-z0-9-]{1,32}$/);
  });

  it('client id: the last 6 characters of the user id, a dash, the name', () => {
    expect(clientIdFor('0190a3b4-0000-7000-8000-00000da39011', 'phone')).toBe('a39011-phone');
  });
});

const rec = recordingStream();
let t: TestApp;
let ws: string;
let a: Team;
let b: Team;

beforeAll(async () => {
  t = await buildTestApp({ deps: { audioStream: rec.handler } });
  ws = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  a = await team(t, 'Devices A');
  b = await team(t, 'Devices B');
});
afterAll(() => t.close());

async function stream(access: string, device: string, path = '/ws') {
  const s = await mustOpen(`${ws}${path}?token=${access}&device_name=${device}`);
  s.ws.close();
  await s.closed;
}

describe('GET /api/devices', () => {
  it('lists your own devices in this org: name, client id, codec, first and last seen', async () => {
    await stream(a.member.access, 'phone');
    await stream(a.member.access, 'desk', '/ws_pcm');
    await stream(a.admin.access, 'admin-phone');
    await stream(b.member.access, 'other-org');
    const res = await t.app.inject({ url: '/api/devices', headers: a.member.headers });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Record<string, unknown>[];
    expect(items.map((d) => d.name).sort()).toEqual(['desk', 'phone']);
    const desk = items.find((d) => d.name === 'desk')!;
    expect(desk).toEqual({
      client_id: `${a.member.user.id.slice(-6)}-desk`,
      name: 'desk',
      codec: 'pcm',
      first_seen_at: expect.any(String),
      last_seen_at: expect.any(String),
      revoked_at: null,
    });
  });

  it('the same device again is the same row: last seen moves, codec follows the socket', async () => {
    const before = (await t.app.inject({ url: '/api/devices', headers: a.member.headers }))
      .json()
      .items.find((d: { name: string }) => d.name === 'phone');
    await new Promise((r) => setTimeout(r, 20));
    await stream(a.member.access, 'Phone', '/ws_pcm');
    // last_seen_at is written again when the socket closes: wait for it.
    await expect
      .poll(async () => {
        const items = (
          await t.app.inject({ url: '/api/devices', headers: a.member.headers })
        ).json().items as { name: string; last_seen_at: string; codec: string }[];
        const phone = items.filter((d) => d.name === 'phone');
        return phone.length === 1 && phone[0]!.last_seen_at > before.last_seen_at
          ? phone[0]!.codec
          : null;
      })
      .toBe('pcm');
  });

  it('pages: limit and cursor walk every device once, most recently seen first', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const n of names) await stream(a.owner.access, n);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const res = await t.app.inject({ url: `/api/devices${q}`, headers: a.owner.headers });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { items: { name: string }[]; next_cursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((d) => d.name));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    // The latest first: each socket closed before the next opened.
    expect(seen).toEqual([...names].reverse());

    // The last device of a page seen again before the next page: it moves up, and the next page
    // goes on from where the first ended (nothing repeated, nothing skipped).
    const first = (
      await t.app.inject({ url: '/api/devices?limit=2', headers: a.owner.headers })
    ).json() as { items: { name: string }[]; next_cursor: string };
    expect(first.items.map((d) => d.name)).toEqual(['p5', 'p4']);
    await stream(a.owner.access, 'p4');
    // Its last_seen_at is written when the socket closes: wait until it leads the list.
    await expect
      .poll(async () => {
        const top = await t.app.inject({ url: '/api/devices?limit=1', headers: a.owner.headers });
        return top.json().items[0]?.name;
      })
      .toBe('p4');
    const second = (
      await t.app.inject({
        url: `/api/devices?limit=2&cursor=${first.next_cursor}`,
        headers: a.owner.headers,
      })
    ).json() as { items: { name: string }[] };
    expect(second.items.map((d) => d.name)).toEqual(['p3', 'p2']);

    const forged = (text: string) => Buffer.from(text).toString('base64url');
    for (const bad of [
      '?limit=0',
      '?limit=101',
      '?cursor=nope',
      '?page=2',
      `?cursor=${forged(`2026-13-01T00:00:00.000000Z/${crypto.randomUUID()}`)}`,
      `?cursor=${forged(`0000-01-01T00:00:00.000000Z/${crypto.randomUUID()}`)}`,
      `?cursor=${forged(`2026-01-01T00:00:00.000Z/${crypto.randomUUID()}`)}`,
      `?cursor=${forged(crypto.randomUUID())}`,
    ]) {
      const res = await t.app.inject({ url: `/api/devices${bad}`, headers: a.owner.headers });
      expect(res.statusCode, bad).toBe(400);
    }
    // A cursor is a place in a list, not a key to one: another person's lists only their own.
    const theirs = await t.app.inject({
      url: `/api/devices?cursor=${first.next_cursor}`,
      headers: a.member.headers,
    });
    expect(theirs.statusCode).toBe(200);
    expect(
      (theirs.json().items as { client_id: string }[]).every((d) =>
        d.client_id.startsWith(a.member.user.id.slice(-6)),
      ),
    ).toBe(true);
  });

  it('needs a person: 401 without a credential, 403 for an API key (even audio:write)', async () => {
    expect((await t.app.inject({ url: '/api/devices' })).statusCode).toBe(401);
    const key = await createKey(t.app, a.owner, ['audio:write']);
    expect((await t.app.inject({ url: '/api/devices', headers: key.headers })).statusCode).toBe(
      403,
    );
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/devices/${a.owner.user.id.slice(-6)}-x`,
      headers: key.headers,
    });
    expect(del.statusCode).toBe(403);
  });
});

describe('DELETE /api/devices/{client_id}', () => {
  it('revokes your device, audited once; again is a no-op; others’ devices are 404', async () => {
    await stream(a.manager.access, 'tablet');
    const clientId = `${a.manager.user.id.slice(-6)}-tablet`;
    // Another member cannot revoke it (it is not theirs), nor another org's owner.
    for (const headers of [a.member.headers, b.owner.headers]) {
      const r = await t.app.inject({ method: 'DELETE', url: `/api/devices/${clientId}`, headers });
      expect(r.statusCode).toBe(404);
    }
    for (let i = 0; i < 2; i++) {
      const r = await t.app.inject({
        method: 'DELETE',
        url: `/api/devices/${clientId}`,
        headers: a.manager.headers,
      });
      expect(r.statusCode).toBe(204);
    }
    const list = await t.app.inject({ url: '/api/devices', headers: a.manager.headers });
    expect(list.json().items[0]).toMatchObject({
      client_id: clientId,
      revoked_at: expect.any(String),
    });
    const audit = (await auditOf(t.database, a.org.id)).filter((e) => e.action === 'device.revoke');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_user_id: a.manager.user.id,
      target_type: 'device',
      metadata: { client_id: clientId },
    });
  });

  it('a malformed client id is a 400, an unknown one a 404', async () => {
    const bad = await t.app.inject({
      method: 'DELETE',
      url: '/api/devices/NOT%20VALID',
      headers: a.member.headers,
    });
    expect(bad.statusCode).toBe(400);
    const unknown = await t.app.inject({
      method: 'DELETE',
      url: '/api/devices/abcdef-nothing',
      headers: a.member.headers,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('not_found');
  });
});

describe('POST /api/realtime/tickets', () => {
  it('people and audio:write keys get one; it is stored hashed only', async () => {
    const res = await requestTicket(t.app, a.member.headers, { device_name: 'Web Tab' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const { ticket, device_name, expires_in } = res.json();
    expect(ticket).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(device_name).toBe('web-tab');
    expect(expires_in).toBeLessThanOrEqual(60);
    const rows = await withSystem(t.database, (tx) =>
      tx.selectFrom('realtime_tickets').selectAll().execute(),
    );
    expect(JSON.stringify(rows)).not.toContain(ticket);
    expect(rows.some((r) => r.token_hash === hashToken(ticket))).toBe(true);

    const key = await createKey(t.app, a.owner, ['audio:write']);
    const byKey = await requestTicket(t.app, key.headers);
    expect(byKey.statusCode).toBe(201);
    expect(byKey.json().device_name).toBe('device');
    // Every field is optional, so is the body (as documented).
    const bare = await t.app.inject({
      method: 'POST',
      url: '/api/realtime/tickets',
      headers: a.member.headers,
    });
    expect(bare.statusCode, bare.body).toBe(201);
    expect(bare.json().device_name).toBe('device');
  });

  it('401 without a credential, 403 for a key without audio:write, 400 for unknown fields', async () => {
    const none = await requestTicket(t.app);
    expect(none.statusCode).toBe(401);
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    const noScope = await requestTicket(t.app, key.headers);
    expect(noScope.statusCode).toBe(403);
    const extra = await requestTicket(t.app, a.member.headers, { user_id: b.owner.user.id });
    expect(extra.statusCode).toBe(400);
  });
});

describe('POST /api/realtime/tickets rate limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await buildTestApp({ env: { RATE_LIMIT_REALTIME_TICKET: '2/3600' } });
  });
  afterAll(() => limited.close());

  it('refuses a caller’s tickets beyond RATE_LIMIT_REALTIME_TICKET with 429 and stores none', async () => {
    const x = await team(limited);
    const key = await createKey(limited.app, x.owner, ['audio:write']);
    const stored = () =>
      withSystem(limited.database, (tx) =>
        tx.selectFrom('realtime_tickets').select('id').where('org_id', '=', x.org.id).execute(),
      );
    for (let i = 0; i < 2; i++)
      expect((await requestTicket(limited.app, x.member.headers)).statusCode).toBe(201);
    const third = await requestTicket(limited.app, x.member.headers);
    expect(third.statusCode).toBe(429);
    expect(third.json().code).toBe('rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect(await stored()).toHaveLength(2);
    // Counted per caller: another member, and an API key, have their own allowance.
    expect((await requestTicket(limited.app, x.manager.headers)).statusCode).toBe(201);
    expect((await requestTicket(limited.app, key.headers)).statusCode).toBe(201);
    // A caller who may not have one spends nothing: refused for the permission first.
    const noScope = await createKey(limited.app, x.owner, ['prompts:read']);
    for (let i = 0; i < 3; i++)
      expect((await requestTicket(limited.app, noScope.headers)).statusCode).toBe(403);
  });
});

describe('row-level security on devices', () => {
  it('members see their own rows; owners, admins and managers read the org’s; nobody another org’s', async () => {
    const names = (role: 'member' | 'manager', p: { user: { id: string } }, orgId: string) =>
      withTenant(t.database, { orgId, userId: p.user.id, role }, (tx) =>
        tx.selectFrom('devices').select(['user_id', 'org_id']).execute(),
      );
    const mine = await names('member', a.member, a.org.id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((d) => d.user_id === a.member.user.id)).toBe(true);
    const org = await names('manager', a.manager, a.org.id);
    expect(new Set(org.map((d) => d.user_id)).size).toBeGreaterThan(1);
    expect(org.every((d) => d.org_id === a.org.id)).toBe(true);
    // A manager cannot write another member's device.
    const updated = await withTenant(
      t.database,
      { orgId: a.org.id, userId: a.manager.user.id, role: 'manager' },
      (tx) =>
        tx
          .updateTable('devices')
          .set({ name: 'hijacked' })
          .where('user_id', '=', a.member.user.id)
          .executeTakeFirst(),
    );
    expect(Number(updated.numUpdatedRows)).toBe(0);
  });
});
