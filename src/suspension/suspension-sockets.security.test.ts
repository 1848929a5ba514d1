// The kill switch and device sockets: every socket of a suspended org closes `1008 org
// suspended`, whoever opened it (ticket, access token, API key) — not `revoked` because the
// suspension also ended the sessions behind the ticket and token sockets (README, kill switch).
// On another instance the two polls (ended sessions, suspended orgs) and the device-socket
// watcher may arrive in any order: whichever comes first, the sockets still hear why — the
// revocation carries it (the sessions' revoked_reason), no other read is waited for.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { logOut } from '../test/auth-helpers.ts';
import {
  mustOpen,
  type Opened,
  recordingStream,
  refusal,
  requestTicket,
} from '../test/device-sockets.ts';
import {
  ADMIN_ENV,
  createKey,
  type Person,
  person,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

const rec = recordingStream();
let one: TestApp;
/** Polls a minute apart: what happens there within a test is what the test drives. */
let two: TestApp;
/** Watcher every 100 ms, both polls stopped: only the watcher tells it anything. */
let three: TestApp;
let ws1: string;
let ws2: string;
let ws3: string;
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
  three = await buildTestApp({
    env: { ...ADMIN_ENV, REVOCATION_POLL_MS: '100' },
    database: one.database,
    deps: { audioStream: rec.handler },
  });
  ws3 = (await three.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  three.app.auth.revocation.stop();
  three.app.auth.suspendedOrgs.stop();
  su = await superuser(one);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await three?.close();
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
    // A ticket minted before the suspension, spent after it: refused as the sockets are closed.
    const spare = await requestTicket(one.app, org.member.headers, { device_name: 'spare' });
    expect(spare.statusCode, spare.body).toBe(201);
    await suspend(org);
    // Nothing has told `two` yet (its polls are a minute apart): the ended sessions arrive first.
    expect(two.app.auth.suspendedOrgs.isSuspended(org.org.id)).toBe(false);
    await two.app.auth.revocation.poll();
    await expectAllSuspended({ ticket: sockets.ticket, token: sockets.token });
    // So does a new connect with those sessions, token or ticket.
    expect(two.app.auth.suspendedOrgs.isSuspended(org.org.id)).toBe(false);
    expect(await refusal(`${ws2}/ws?token=${org.admin.access}&device_name=again`)).toEqual({
      code: 1008,
      reason: 'org suspended',
    });
    expect(await refusal(`${ws2}/ws?ticket=${spare.json().ticket}&device_name=spare`)).toEqual({
      code: 1008,
      reason: 'org suspended',
    });
    // The key's socket has no session: the next poll of the suspended orgs closes it.
    await two.app.auth.suspendedOrgs.poll();
    await expectAllSuspended({ key: sockets.key });
  });

  it('on another instance where only the device-socket watcher looks (neither poll ran): ticket, token and API-key sockets alike', async () => {
    const org = await team(one, 'Suspended, watched');
    const sockets = await threeSockets(three, ws3, org);
    // Neither list may be read there: only the watcher's own query tells it.
    const noRead = () => Promise.reject(new Error('not in this test'));
    const polls = [
      vi.spyOn(three.app.auth.revocation, 'poll').mockImplementation(noRead),
      vi.spyOn(three.app.auth.suspendedOrgs, 'poll').mockImplementation(noRead),
    ];
    await suspend(org);
    await expectAllSuspended(sockets);
    expect(three.app.auth.suspendedOrgs.isSuspended(org.org.id)).toBe(false);
    for (const p of polls) {
      expect(p).not.toHaveBeenCalled();
      p.mockRestore();
    }
  });
});

describe('a logout closes its sockets `revoked` at once, reading nothing', () => {
  it('the suspended orgs are not read first (a read that never answers holds nothing up)', async () => {
    const org = await team(one, 'Logs out');
    const p = await person(one, org.org, 'member', 'leaver');
    const s = await mustOpen(`${ws1}/ws?token=${p.access}&device_name=leaving`);
    const poll = vi
      .spyOn(one.app.auth.suspendedOrgs, 'poll')
      .mockImplementation(() => new Promise<void>(() => {}));
    try {
      const res = await logOut(one.app, p.headers);
      expect(res.statusCode, res.body).toBe(204);
      expect(poll).not.toHaveBeenCalled();
      expect(await s.closed).toMatchObject({ code: 1008, reason: 'revoked' });
    } finally {
      poll.mockRestore();
    }
  });
});
