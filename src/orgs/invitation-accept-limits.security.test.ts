// Invitations accepted from one address against the sign-up limits: an account an admin asked for
// is no sign-up, so colleagues behind one office address all get in (RATE_LIMIT_REGISTER_IP counts
// sign-ups only, and none is spent by them); a link retried with refused passwords still counts on
// RATE_LIMIT_REGISTER_REFUSED_IP, since each try costs a password hash; and the accounts one org's
// invitations create count on that org's RATE_LIMIT_USER_CREATE_ORG, as admin-created ones do
// (anyone may found an org and invite addresses of their own).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import {
  type InvitationApp,
  invitationFlows,
  startInvitationApp,
} from '../test/invitation-helpers.ts';
import { type Team, team } from '../test/org-helpers.ts';

const CREATED = 2;
const REFUSED = 3;
const ORG_ACCOUNTS = 5;
let app: InvitationApp;
let a: Team;
const flows = invitationFlows(() => app);

beforeAll(async () => {
  app = await startInvitationApp({
    RATE_LIMIT_REGISTER_IP: `${CREATED}/3600`,
    RATE_LIMIT_REGISTER_REFUSED_IP: `${REFUSED}/3600`,
    RATE_LIMIT_USER_CREATE_ORG: `${ORG_ACCOUNTS}/86400`,
  });
  a = await team(app.t, 'Office behind one address');
});
afterAll(async () => {
  await app?.t.close();
  await app?.smtp.close();
});

let nextIp = 1;
const freshIp = () => `203.0.113.${nextIp++}`;

function acceptFrom(ip: string, token: string, password: string) {
  return app.t.app.inject({
    method: 'POST',
    url: '/api/invitations/accept',
    remoteAddress: ip,
    payload: { token, password },
  });
}

function signUpFrom(ip: string) {
  return app.t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress: ip,
    payload: { email: uniqueEmail('signup'), password: GOOD_PASSWORD },
  });
}

async function invited(by: Team = a): Promise<string> {
  const email = uniqueEmail('colleague');
  await flows.invite(by.owner, email);
  return flows.mailedToken(email, '/accept-invite');
}

describe('invitation acceptance and the sign-up limits per IP', () => {
  it(`more colleagues than RATE_LIMIT_REGISTER_IP (${CREATED}) accept theirs from one address, and its sign-ups are left whole`, async () => {
    const ip = freshIp();
    for (let i = 0; i < CREATED + 2; i++) {
      const res = await acceptFrom(ip, await invited(), GOOD_PASSWORD);
      expect(res.statusCode, res.body).toBe(201);
    }
    for (let i = 0; i < CREATED; i++) expect((await signUpFrom(ip)).statusCode).toBe(201);
    expect((await signUpFrom(ip)).statusCode).toBe(429);
  });

  it(`a link retried with refused passwords: after ${REFUSED}, 429 with Retry-After, and the link still works from elsewhere`, async () => {
    const ip = freshIp();
    const token = await invited();
    for (let i = 0; i < REFUSED; i++) {
      const res = await acceptFrom(ip, token, 'password');
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('weak_password');
    }
    const limited = await acceptFrom(ip, token, GOOD_PASSWORD);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await acceptFrom(freshIp(), token, GOOD_PASSWORD)).statusCode).toBe(201);
  });

  it(`one org's invitations create at most RATE_LIMIT_USER_CREATE_ORG (${ORG_ACCOUNTS}) accounts, from any address; another org's are not affected`, async () => {
    const c = await team(app.t, 'Invites its own addresses');
    for (let i = 0; i < ORG_ACCOUNTS; i++) {
      const res = await acceptFrom(freshIp(), await invited(c), GOOD_PASSWORD);
      expect(res.statusCode, res.body).toBe(201);
    }
    const token = await invited(c);
    const limited = await acceptFrom(freshIp(), token, GOOD_PASSWORD);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
    const d = await team(app.t, 'Another org');
    expect((await acceptFrom(freshIp(), await invited(d), GOOD_PASSWORD)).statusCode).toBe(201);
  });
});
