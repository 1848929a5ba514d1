// Test helpers for MFA and the mail flows: a mailer that keeps what it was given, enrolment
// through the API, TOTP codes relative to now.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Database } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import type { Mail, Mailer } from '../mail/mailer.ts';
import { totpCodeAt } from '../mfa/totp.ts';
import { appForFile, type TestApp } from './app.ts';
import { bearer, type Registered, registerUser } from './auth-helpers.ts';

export interface CapturingMailer extends Mailer {
  sent: Mail[];
  /** Mails to one address whose subject matches. */
  to(address: string, subject?: RegExp): Mail[];
}

export function capturingMailer(): CapturingMailer {
  const sent: Mail[] = [];
  return {
    sent,
    to: (address, subject) =>
      sent.filter((m) => m.to === address && (!subject || subject.test(m.subject))),
    send(mail) {
      sent.push(mail);
    },
    async sendNow(mail) {
      sent.push(mail);
    },
    async drain() {},
    async close() {},
  };
}

/** One test app for the file (appForFile) whose mailer keeps what it is given. */
export function mailingAppForFile(): { t: TestApp; mail: CapturingMailer } {
  const mail = capturingMailer();
  return { t: appForFile({ deps: { mailer: mail } }), mail };
}

export const STEP_MS = 30_000;

/** The code of the time step `offset` steps from now (0 = current, 1 = next). */
export function totpNow(secret: string, offset = 0): string {
  return totpCodeAt(secret, Date.now() + offset * STEP_MS);
}

/**
 * Waits until at least `marginMs` remain in the current time step, so a code computed now is
 * judged by the server within the same step (tests of the exact ±1 window).
 */
export async function awayFromStepEdge(marginMs = 3000): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

/** setup + enable through the API (enabling spends the current step). */
export async function enrolMfa(
  app: FastifyInstance,
  user: Pick<Registered, 'access'>,
): Promise<{ secret: string; backupCodes: string[] }> {
  const setup = await app.inject({
    method: 'POST',
    url: '/api/auth/mfa/setup',
    headers: bearer(user.access),
  });
  expect(setup.statusCode).toBe(200);
  const { secret } = setup.json();
  const enable = await app.inject({
    method: 'POST',
    url: '/api/auth/mfa/enable',
    headers: bearer(user.access),
    payload: { code: totpNow(secret) },
  });
  expect(enable.statusCode).toBe(200);
  return { secret, backupCodes: enable.json().backup_codes };
}

/** Password step: answers the mfa_token (asserts the challenge shape). */
export async function passwordStep(
  app: FastifyInstance,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers,
    payload: { email, password },
  });
  expect(res.statusCode).toBe(200);
  const body = res.json();
  expect(body).toEqual({
    mfa_required: true,
    mfa_token: expect.any(String),
    methods: ['totp', 'backup_code'],
  });
  return body.mfa_token;
}

export function mfaVerify(
  app: FastifyInstance,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return app.inject({ method: 'POST', url: '/api/auth/mfa/verify', headers, payload });
}

/** The JWT's claims, unverified (the tests only read what the server put there). */
export function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8'));
}

/** Stores an org's settings JSON as given, past the API's validation (policy parsing tests). */
export async function setOrgSettings(database: Database, orgId: string, settings: unknown) {
  await withSystem(database, (tx) =>
    tx
      .updateTable('orgs')
      .set({ settings: JSON.stringify(settings) })
      .where('id', '=', orgId)
      .execute(),
  );
}

/**
 * A newly registered owner (no MFA yet) whose org then requires MFA of `roles`: with the
 * default, their next login gets an enrolment-only (mfa_pending) session.
 */
export async function registerUnderMfaPolicy(
  t: Pick<TestApp, 'app' | 'database'>,
  roles: string[] = ['owner'],
): Promise<Registered> {
  const u = await registerUser(t.app);
  await setOrgSettings(t.database, u.orgId, { mfa_required_roles: roles });
  return u;
}

/** The user's backup codes not yet spent (ids only), straight from the database. */
export function unusedBackupCodes(database: Database, userId: string) {
  return withSystem(database, (tx) =>
    tx
      .selectFrom('mfa_backup_codes')
      .select('id')
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .execute(),
  );
}
