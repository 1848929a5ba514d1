// Every new device_name is a lasting devices row: a member looping sockets with random names grew
// the table and their device list without bound. At most REALTIME_MAX_DEVICES_PER_USER live
// devices per user and org; a known device still opens at the limit, a revoked one frees a place,
// and two new names opened at once cannot both take the last one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { mustOpen, openSocket, recordingStream, refusal } from '../test/device-sockets.ts';
import { type Team, team } from '../test/org-helpers.ts';
import { TOO_MANY_DEVICES } from './devices.ts';

const rec = recordingStream();
let t: TestApp;
let ws: string;
let a: Team;

beforeAll(async () => {
  t = await buildTestApp({
    deps: { audioStream: rec.handler },
    env: { REALTIME_MAX_DEVICES_PER_USER: '3' },
  });
  ws = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  a = await team(t, 'Org A');
});
afterAll(() => t.close());

const url = (access: string, name: string) => `${ws}/ws_pcm?token=${access}&device_name=${name}`;

async function openAndClose(access: string, name: string) {
  const s = await mustOpen(url(access, name));
  s.ws.close();
  await s.closed;
}

const devicesOf = (userId: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('devices').select(['name', 'revoked_at']).where('user_id', '=', userId).execute(),
  );

describe('REALTIME_MAX_DEVICES_PER_USER', () => {
  it('a new device name beyond the limit is closed 1008 and stores nothing; known ones still open', async () => {
    const m = a.member;
    for (const name of ['one', 'two', 'three']) await openAndClose(m.access, name);
    expect(await refusal(url(m.access, 'four'))).toEqual({ code: 1008, reason: TOO_MANY_DEVICES });
    expect((await devicesOf(m.user.id)).map((d) => d.name).sort()).toEqual(['one', 'three', 'two']);
    // A device already known is no new row: it opens at the limit.
    await openAndClose(m.access, 'two');
    // Another member of the org has places of their own.
    await openAndClose(a.admin.access, 'four');
  });

  it('revoking a device frees its place (the revoked one stays refused)', async () => {
    const m = a.manager;
    for (const name of ['a1', 'a2', 'a3']) await openAndClose(m.access, name);
    const list = await t.app.inject({ url: '/api/devices', headers: m.headers });
    const a1 = list.json().items.find((d: { name: string }) => d.name === 'a1');
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/devices/${a1.client_id}`,
      headers: m.headers,
    });
    expect(revoked.statusCode).toBe(204);
    await openAndClose(m.access, 'a4');
    expect((await refusal(url(m.access, 'a1'))).reason).toBe('device revoked');
    expect((await refusal(url(m.access, 'a5'))).reason).toBe(TOO_MANY_DEVICES);
  });

  it('new names opened at once never pass the limit', async () => {
    const m = a.owner;
    const outcomes = await Promise.all(
      ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((name) => openSocket(url(m.access, name))),
    );
    for (const o of outcomes) if (o.accepted) o.socket.ws.close();
    expect(outcomes.filter((o) => o.accepted)).toHaveLength(3);
    expect((await devicesOf(m.user.id)).filter((d) => d.revoked_at === null)).toHaveLength(3);
  });
});
