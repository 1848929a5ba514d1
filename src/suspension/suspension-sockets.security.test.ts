// The kill switch and device sockets: every socket of a suspended org closes `1008 org
// suspended`, whoever opened it (ticket, access token, API key) — not `revoked` because the
// suspension also ended the sessions behind the ticket and token sockets (README, kill switch).
// On another instance the two polls (ended sessions, suspended orgs) may arrive in either order:
// with the revocation poll first, the sockets still hear why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { mustOpen, type Opened, recordingStream, requestTicket } from '../test/device-sockets.ts';
import {
  ADMIN_ENV,
  createKey,
  type Person,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

const rec = recordingStream();
let one: TestApp;
/** Polls a minute apart: what happens there within a test is what the test drives. */
let two: TestApp;
let ws1: string;
let ws2: string;
let su: Person;

beforeAll(async () => {
  one = await buildTestApp({ env: ADMIN_ENV, deps: { audioStream: rec.handler } });
  two = await buildTestApp({
    env: { ...ADMIN_ENV, REVOCATION_POLL_MS: '60000' },
    database: one.database,
    deps: { audioStream: rec.handler },
  });
  ws1 = (await one.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  ws2 = (await two.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  su = await superuser(one);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
});

/** A ticket socket, a token socket and an API-key socket of the org's member and owner on `ws`. */
async function threeSockets(t: TestApp, ws: string, org: Team) {
  const tk = await requestTicket(t.app, org.member.headers, { device_name: 'tab' });
  expect(tk.statusCode, tk.body).toBe(201);
  const key = await createKey(t.app, org.owner, ['audio:write']);
  return {
    ticket: await mustOpen(`${ws}/ws?ticket=${tk.json().ticket}&device_name=tab`),
    token: await mustOpen(`${ws}/ws?token=${org.admin.access}&device_name=phone`),
    key: await mustOpen(`${ws}/ws_pcm?device_name=worker`, { headers: key.headers }),
  };
}

async function suspend(org: Team) {
  const res = await one.app.inject({
    method: 'POST',
    url: `/api/admin/orgs/${org.org.id}/suspend`,
    headers: su.headers,
    payload: { reason: 'Abuse report' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function expectAllSuspended(sockets: Record<string, Opened>) {
  for (const [name, s] of Object.entries(sockets)) {
    const c = await s.closed;
    expect({ name, code: c.code, reason: c.reason }).toEqual({
      name,
      code: 1008,
      reason: 'org suspended',
    });
  }
}

describe('suspending an org closes its device sockets with 1008 org suspended', () => {
  it('on the instance that suspends: ticket, token and API-key sockets alike', async () => {
    const org = await team(one, 'Suspended here');
    const bystander = await team(one, 'Carries on');
    const sockets = await threeSockets(one, ws1, org);
    const other = await mustOpen(`${ws1}/ws?token=${bystander.member.access}&device_name=b`);
    await suspend(org);
    await expectAllSuspended(sockets);
    expect(other.ws.readyState).toBe(other.ws.OPEN);
    other.ws.close();
  });

  it('on another instance whose revocation poll finds the ended sessions before its suspended-org poll finds the org', async () => {
    const org = await team(one, 'Suspended elsewhere');
    const sockets = await threeSockets(two, ws2, org);
    await suspend(org);
    // Nothing has told `two` yet (its polls are a minute apart): the ended sessions arrive first.
    expect(two.app.auth.suspendedOrgs.isSuspended(org.org.id)).toBe(false);
    await two.app.auth.revocation.poll();
    await expectAllSuspended({ ticket: sockets.ticket, token: sockets.token });
    // The key's socket has no session: the suspended-org read that the revocation close made
    // already closed it, or the next poll of the suspended orgs does.
    await two.app.auth.suspendedOrgs.poll();
    await expectAllSuspended({ key: sockets.key });
  });
});
