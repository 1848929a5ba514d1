// Test helpers for invitations end to end: an app whose mail goes through a real SMTP server on
// loopback, and the steps every invitation test takes (invite, read the mailed link, accept).
import { expect } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from './app.ts';
import { linkFrom, startTestSmtpServer, type TestSmtpServer } from './smtp.ts';

/** The origin of every mailed link: a link elsewhere would send a token to the wrong site. */
export const INVITATION_PUBLIC_URL = 'https://sb.example.test';

export interface InvitationApp {
  t: TestApp;
  smtp: TestSmtpServer;
}

export async function startInvitationApp(env: Record<string, string> = {}): Promise<InvitationApp> {
  const smtp = await startTestSmtpServer();
  const t = await buildTestApp({
    env: { SMTP_URL: smtp.url, PUBLIC_URL: INVITATION_PUBLIC_URL, ...env },
  });
  return { t, smtp };
}

/**
 * The invitation steps over the app `get()` answers. It is read at each call, so a test file makes
 * these at load time and starts the app in beforeAll.
 */
export function invitationFlows(get: () => InvitationApp) {
  const send = (
    method: 'POST' | 'PATCH' | 'DELETE',
    url: string,
    headers: object,
    payload?: object,
  ) => get().t.app.inject({ method, url, headers: headers as Record<string, string>, payload });

  async function invite(by: { headers: Record<string, string> }, email: string, role = 'member') {
    const res = await send('POST', '/api/orgs/current/invitations', by.headers, { email, role });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; email: string; role: string; expires_at: string };
  }

  /** The token from the invitation mail sent to `email` (the newest one). */
  async function mailedToken(email: string, path: string): Promise<string> {
    const { smtp } = get();
    await smtp.waitFor((m) => m.to === email && m.text.includes(path));
    const mails = smtp.messages.filter((m) => m.to === email && m.text.includes(path));
    const link = new URL(linkFrom(mails[mails.length - 1]!, path));
    expect(link.origin).toBe(INVITATION_PUBLIC_URL);
    return link.searchParams.get('token')!;
  }

  const accept = (payload: object, headers: object = {}) =>
    send('POST', '/api/invitations/accept', headers, payload);

  /** As if the account had followed a verification link (the factories make unverified ones). */
  const markVerified = (userId: string) =>
    withSystem(get().t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ email_verified_at: new Date() })
        .where('id', '=', userId)
        .execute(),
    );

  return { send, invite, mailedToken, accept, markVerified };
}
