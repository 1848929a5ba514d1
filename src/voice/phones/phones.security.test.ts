// Number squatting: registering someone else's number gets nothing. A number routes or places
// calls only once its ownership is proven — on the org's own Twilio account (checked with the real
// `twilio` client against the fake Twilio server), or, on the platform account, by the platform
// superuser's audited assignment. Until then it is inert, and no answer tells one org which
// numbers another org holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../db/tenant.ts';
import { buildTestApp, type TestApp } from '../../test/app.ts';
import { type FakeTwilio, fakeSid, startFakeTwilio } from '../../test/fake-twilio.ts';
import {
  ADMIN_ENV,
  auditOf,
  type Person,
  superuser,
  type Team,
  team,
} from '../../test/org-helpers.ts';
import {
  callParams,
  PLATFORM_SID,
  PLATFORM_TOKEN,
  twilioEnv,
  twilioPost,
  uniqueNumber,
} from '../../test/twilio.ts';

const ORG_SID = `AC${'c'.repeat(32)}`;
const ORG_TOKEN = 'orgctoken0123456789abcdef0123456';

let fake: FakeTwilio;
let t: TestApp;
let a: Team; // platform account
let b: Team; // platform account: the squatter
let c: Team; // its own Twilio account
let su: Person;

const post = (who: Person, url: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: who.headers, ...(payload ? { payload } : {}) });
const patch = (who: Person, url: string, payload: object) =>
  t.app.inject({ method: 'PATCH', url, headers: who.headers, payload });
const assign = (who: Person, orgId: string, number: string) =>
  post(who, '/api/admin/phone-assignments', { org_id: orgId, number });
const verify = (who: Person, id: string) => post(who, `/api/phones/${id}/verify`);
/** The org's own Twilio account (the token is the fake's for ORG_SID; another sid is another account). */
const setAccount = (who: Person, sid: string) =>
  t.app.inject({
    method: 'PUT',
    url: '/api/twilio/credentials',
    headers: who.headers,
    payload: { account_sid: sid, auth_token: ORG_TOKEN },
  });

/** A problem document without the parts that differ per request. */
function problemShape(res: { statusCode: number; json(): Record<string, unknown> }) {
  const { instance: _i, request_id: _r, ...rest } = res.json();
  return { status: res.statusCode, ...rest };
}

/** A phone answer without the parts that differ per row. */
function phoneShape(res: { statusCode: number; json(): Record<string, unknown> }) {
  const { id: _id, number: _n, created_at: _c, updated_at: _u, owner_id: _o, ...rest } = res.json();
  return { status: res.statusCode, ...rest };
}

const callsTo = (number: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('calls').select(['org_id']).where('to_number', '=', number).execute(),
  );

beforeAll(async () => {
  fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN, [ORG_SID]: ORG_TOKEN });
  t = await buildTestApp({ env: { ...ADMIN_ENV, ...twilioEnv({ TWILIO_API_URL: fake.url }) } });
  a = await team(t);
  b = await team(t, 'Squatter');
  c = await team(t, 'Own Account');
  su = await superuser(t);
  expect((await setAccount(c.owner, ORG_SID)).statusCode).toBe(200);
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

describe('a registered number is pending and inert until its ownership is proven', () => {
  it('starts pending_verification; its calls are answered like an unknown number', async () => {
    const number = uniqueNumber();
    const res = await post(a.owner, '/api/phones', { number });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      active: true,
      verification_status: 'pending_verification',
      verified_at: null,
    });
    const call = await twilioPost(t.app, '/webhooks/twilio/voice', callParams({ To: number }));
    expect(call.statusCode).toBe(200);
    expect(call.body).toContain('not in service');
    expect(await callsTo(number)).toEqual([]);
  });
});

describe('squatting a number another org holds', () => {
  it("answers exactly like a free number, never routes the victim's calls, and reveals nothing", async () => {
    const victim = uniqueNumber();
    const held = await post(a.owner, '/api/phones', { number: victim, active: false });
    expect((await assign(su, a.org.id, victim)).statusCode).toBe(200);
    // The victim's number is verified but inactive: the case the old rule handed to a squatter.
    expect(
      (
        await t.app.inject({ url: `/api/phones/${held.json().id}`, headers: a.owner.headers })
      ).json(),
    ).toMatchObject({ verification_status: 'verified', active: false });

    const squat = await post(b.owner, '/api/phones', { number: victim });
    const free = await post(b.owner, '/api/phones', { number: uniqueNumber() });
    expect(squat.statusCode).toBe(201);
    expect(phoneShape(squat)).toEqual(phoneShape(free));
    expect(squat.json().verification_status).toBe('pending_verification');

    // Activating and verifying answer as for a free number too.
    const act = await patch(b.owner, `/api/phones/${squat.json().id}`, { active: true });
    expect(act.statusCode).toBe(200);
    expect(act.json().verification_status).toBe('pending_verification');
    const vSquat = await verify(b.owner, squat.json().id);
    const vFree = await verify(b.owner, free.json().id);
    expect(vSquat.statusCode).toBe(409);
    expect(vSquat.json().code).toBe('phone_assignment_required');
    expect(problemShape(vSquat)).toEqual(problemShape(vFree));

    // The victim's number routes nowhere while inactive, and never to the squatter.
    const call = await twilioPost(t.app, '/webhooks/twilio/voice', callParams({ To: victim }));
    expect(call.statusCode).toBe(200);
    expect(call.body).toContain('not in service');
    expect(await callsTo(victim)).toEqual([]);
    // Once the owner activates it again, its calls reach the owner.
    await patch(a.owner, `/api/phones/${held.json().id}`, { active: true });
    await twilioPost(t.app, '/webhooks/twilio/voice', callParams({ To: victim }));
    expect(await callsTo(victim)).toEqual([{ org_id: a.org.id }]);
  });
});

describe('verification on the org own Twilio account (IncomingPhoneNumbers, real client)', () => {
  it('verifies a number found on the account, and not one that is not there', async () => {
    const number = uniqueNumber();
    const phone = (await post(c.owner, '/api/phones', { number })).json();
    const before = fake.numberLookups;
    const missing = await verify(c.owner, phone.id);
    expect(missing.statusCode).toBe(409);
    expect(missing.json().code).toBe('phone_not_on_account');
    expect(fake.numberLookups).toBe(before + 1);

    fake.addNumber(ORG_SID, number);
    const ok = await verify(c.manager, phone.id);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ verification_status: 'verified', active: true });
    expect(ok.json().verified_at).toEqual(expect.any(String));
    const audit = await auditOf(t.database, c.org.id);
    expect(audit.map((e) => e.action)).toContain('phone.verify');

    // Now it routes, signed with the org's own token.
    const call = await twilioPost(t.app, '/webhooks/twilio/voice', callParams({ To: number }), {
      token: ORG_TOKEN,
    });
    expect(call.statusCode).toBe(200);
    expect(await callsTo(number)).toEqual([{ org_id: c.org.id }]);
  });

  it('needs the whole number: Twilio matching a part of a longer number proves nothing', async () => {
    const number = uniqueNumber();
    fake.addNumber(ORG_SID, `${number}7`);
    const phone = (await post(c.owner, '/api/phones', { number })).json();
    const res = await verify(c.owner, phone.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('phone_not_on_account');
  });

  it('a number that left the account loses its verification on the next check', async () => {
    const number = uniqueNumber();
    fake.addNumber(ORG_SID, number);
    const phone = (await post(c.owner, '/api/phones', { number })).json();
    expect((await verify(c.owner, phone.id)).statusCode).toBe(200);
    fake.removeNumber(ORG_SID, number);
    expect((await verify(c.owner, phone.id)).statusCode).toBe(409);
    const now = await t.app.inject({ url: `/api/phones/${phone.id}`, headers: c.owner.headers });
    expect(now.json().verification_status).toBe('pending_verification');
  });

  it('at most one org holds a number verified: a second org on the same account gets the same answer as for a missing number', async () => {
    const number = uniqueNumber();
    fake.addNumber(ORG_SID, number);
    const mine = (await post(c.owner, '/api/phones', { number })).json();
    expect((await verify(c.owner, mine.id)).statusCode).toBe(200);

    const d = await team(t, 'Same Account');
    await setAccount(d.owner, ORG_SID);
    const theirs = (await post(d.owner, '/api/phones', { number })).json();
    const missing = (await post(d.owner, '/api/phones', { number: uniqueNumber() })).json();
    const taken = await verify(d.owner, theirs.id);
    expect(taken.statusCode).toBe(409);
    expect(problemShape(taken)).toEqual(problemShape(await verify(d.owner, missing.id)));

    // The database itself refuses a second verified row, whatever the code does.
    await expect(
      withSystem(t.database, (tx) =>
        tx
          .updateTable('phones')
          .set({
            verification_status: 'verified',
            verification_method: 'twilio_account',
            verified_at: new Date(),
          })
          .where('id', '=', theirs.id)
          .execute(),
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('Twilio refusing the credentials or failing is a clear answer, never a 500', async () => {
    const phone = (await post(c.owner, '/api/phones', { number: uniqueNumber() })).json();
    fake.failNext(1, 503, 20503);
    const down = await verify(c.owner, phone.id);
    expect(down.statusCode).toBe(502);
    expect(down.json().code).toBe('twilio_unavailable');
    fake.failNext(1, 401, 20003);
    const refused = await verify(c.owner, phone.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('twilio_credentials_rejected');
    fake.failNext(0);
  });

  it('changing the org account resets its verified numbers to pending', async () => {
    const number = uniqueNumber();
    fake.addNumber(ORG_SID, number);
    const e = await team(t, 'Switches Accounts');
    const put = (sid: string) => setAccount(e.owner, sid);
    expect((await put(ORG_SID)).statusCode).toBe(200);
    const phone = (await post(e.owner, '/api/phones', { number })).json();
    expect((await verify(e.owner, phone.id)).statusCode).toBe(200);
    // Same account (a token rotation): still verified.
    await put(ORG_SID);
    const same = await t.app.inject({ url: `/api/phones/${phone.id}`, headers: e.owner.headers });
    expect(same.json().verification_status).toBe('verified');
    await put(fakeSid('AC'));
    const moved = await t.app.inject({ url: `/api/phones/${phone.id}`, headers: e.owner.headers });
    expect(moved.json().verification_status).toBe('pending_verification');
  });

  it('a change of account while the check is on the wire wins: the number stays pending', async () => {
    const number = uniqueNumber();
    // On the account the org leaves; the member who verifies may not read the credentials.
    fake.addNumber(ORG_SID, number);
    const g = await team(t, 'Switches Mid-Check');
    const put = (sid: string) => setAccount(g.owner, sid);
    expect((await put(ORG_SID)).statusCode).toBe(200);
    const phone = (await post(g.member, '/api/phones', { number })).json();
    let switched: number | undefined;
    fake.whileLookingUp = async () => {
      fake.whileLookingUp = undefined;
      // The owner moves the org to another account before Twilio answers the old one.
      switched = (await put(fakeSid('AC'))).statusCode;
    };
    try {
      const res = await verify(g.member, phone.id);
      expect(switched).toBe(200);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('twilio_account_changed');
    } finally {
      fake.whileLookingUp = undefined;
    }
    const now = await t.app.inject({ url: `/api/phones/${phone.id}`, headers: g.owner.headers });
    expect(now.json()).toMatchObject({ verification_status: 'pending_verification' });
    const audit = await auditOf(t.database, g.org.id);
    expect(audit.map((e) => e.action)).not.toContain('phone.verify');
  });

  it('hides another org phone and another member phone behind 404', async () => {
    const phone = (await post(c.owner, '/api/phones', { number: uniqueNumber() })).json();
    expect((await verify(a.owner, phone.id)).statusCode).toBe(404);
    expect((await verify(c.member, phone.id)).statusCode).toBe(404);
  });
});

describe('assignment on the platform account, by the platform superuser', () => {
  it('assigns a registered number to an org, audited; moving it takes it from the other org', async () => {
    const number = uniqueNumber();
    const inA = (await post(a.owner, '/api/phones', { number })).json();
    const inB = (await post(b.owner, '/api/phones', { number })).json();
    const res = await assign(su, a.org.id, number);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: inA.id,
      org_id: a.org.id,
      verification_status: 'verified',
    });
    const auditA = await auditOf(t.database, a.org.id);
    expect(auditA.find((e) => e.action === 'phone.assign' && e.target_id === inA.id)).toMatchObject(
      {
        actor_user_id: su.user.id,
        target_id: inA.id,
        outcome: 'success',
      },
    );
    // Again: no change, no error.
    expect((await assign(su, a.org.id, number)).statusCode).toBe(200);

    const moved = await assign(su, b.org.id, number);
    expect(moved.statusCode).toBe(200);
    expect(moved.json().id).toBe(inB.id);
    const getA = await t.app.inject({ url: `/api/phones/${inA.id}`, headers: a.owner.headers });
    expect(getA.json().verification_status).toBe('pending_verification');
    expect((await auditOf(t.database, a.org.id)).map((e) => e.action)).toContain('phone.unassign');
  });

  it('is for the superuser only, and only for orgs on the platform account', async () => {
    const number = uniqueNumber();
    await post(a.owner, '/api/phones', { number });
    for (const who of [a.owner, a.admin, b.owner]) {
      const res = await assign(who, a.org.id, number);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('superuser_required');
    }
    // An org with its own account proves ownership there.
    const own = uniqueNumber();
    await post(c.owner, '/api/phones', { number: own });
    const refused = await assign(su, c.org.id, own);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('phone_verified_by_account');
    // The org must have registered the number first.
    expect((await assign(su, a.org.id, uniqueNumber())).statusCode).toBe(404);
    const bad = await post(su, '/api/admin/phone-assignments', { org_id: a.org.id, number: '12' });
    expect(bad.statusCode).toBe(400);
  });
});
