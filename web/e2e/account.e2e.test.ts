// Account flows in Chromium against a started server: the MFA step's failures (wrong code,
// lock-out with the wait, expired step), forgot/reset password and email verification from the
// mails in the outbox, password change and "log out everywhere" ending the other sessions, and
// the silent refresh of the session cookies (with the CSRF header) before the access token
// expires — and after it did. Accounts are set up through the API to keep the steps short.
import type { Locator, Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { totpCodeAt, totpStep } from '../../src/mfa/totp.ts';
import { bearer, registerUser } from '../../src/test/auth-helpers.ts';
import { linkPath, waitForMail } from './support/browser.ts';
import { dismissToasts, logIn, navTo, story } from './support/story.ts';

const PASSWORD = 'saffron glacier piano thimble 52';
const NEW_PASSWORD = 'amber harbor quilt meteor 83';

const s = story('account', {
  // Three wrong codes lock the MFA step (for two minutes) — the lock-out is reachable quickly.
  RATE_LIMIT_MFA_VERIFY: '3/120',
  // The shortest access token the server allows: the page must renew it on its own.
  ACCESS_TOKEN_TTL_SECONDS: '30',
});
const step = s.step;

let seq = 0;
const email = (what: string) => `${what}-${Date.now()}-${++seq}@account-e2e.test`;

/** A user with MFA on, made through the API; returns the TOTP secret. */
async function userWithMfa(address: string): Promise<string> {
  const app = s.server.t.app;
  const u = await registerUser(app, {
    email: address,
    password: PASSWORD,
    full_name: 'Mae Jemison',
  });
  const setup = await app.inject({
    method: 'POST',
    url: '/api/auth/mfa/setup',
    headers: bearer(u.access),
  });
  const secret = setup.json().secret as string;
  const enable = await app.inject({
    method: 'POST',
    url: '/api/auth/mfa/enable',
    headers: bearer(u.access),
    payload: { code: totpCodeAt(secret, Date.now()) },
  });
  expect(enable.statusCode).toBe(200);
  return secret;
}

async function passwordStep(page: Page, address: string) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(address);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
}

/** Holds /auth/me (the dashboard loading its user after a login) until released. */
async function holdMe(page: Page) {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  let asked: () => void = () => {};
  const requested = new Promise<void>((r) => {
    asked = r;
  });
  await page.route('**/auth/me', async (route) => {
    asked();
    await held;
    await route.fallback();
  });
  return { requested, release: () => release() };
}

/** Counts the page's POSTs to `path`. */
function countPosts(page: Page, path: string): { count: number } {
  const seen = { count: 0 };
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === path) seen.count++;
  });
  return seen;
}

/** Once the page has rendered what it had to (two animation frames). */
async function rendered(page: Page): Promise<void> {
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
}

/** Presses the button again, by mouse and by Enter. */
async function pressAgain(page: Page, button: Locator): Promise<void> {
  await button.click({ force: true });
  await button.focus();
  await page.keyboard.press('Enter');
}

describe('account flows', () => {
  step('the MFA step: wrong codes, then locked out with the wait shown', async () => {
    const address = email('locked');
    await userWithMfa(address);
    const { page } = await s.device();
    await passwordStep(page, address);
    for (let i = 0; i < 3; i++) {
      await page.getByLabel('Authentication code').fill('000000');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText(/That code is not right/).waitFor();
    }
    await page.getByLabel('Authentication code').fill('111111');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText(/Too many wrong codes\. .*Try again in 2 minutes\./).waitFor();
    const locked = page.getByRole('button', { name: /^Locked — try again in \d+ s$/ });
    await locked.waitFor();
    expect(await locked.isDisabled()).toBe(true);
  });

  step('the MFA step expires: back to the password', async () => {
    const address = email('expired');
    await userWithMfa(address);
    const { page } = await s.device();
    await page.clock.install();
    await passwordStep(page, address);
    // The server's step lives five minutes; the page says so instead of failing a late code.
    await page.clock.fastForward('05:00');
    await page.getByText(/Your sign-in step expired/).waitFor();
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    expect(await page.getByLabel('Password').inputValue()).toBe('');
  });

  step('a login is sent once: its button stays busy until the dashboard opens', async () => {
    // The MFA step: a spent code must not be sent again while the dashboard loads.
    const address = email('once');
    const secret = await userWithMfa(address);
    const { page } = await s.device();
    await passwordStep(page, address);
    const verifies = countPosts(page, '/api/auth/mfa/verify');
    const me = await holdMe(page);
    // The enrolment spent this time step's code: the next step's (within the ±1 drift window).
    const next = (totpStep(Date.now()) + 1) * 30_000;
    await page.getByLabel('Authentication code').fill(totpCodeAt(secret, next));
    const verify = page.getByRole('button', { name: 'Verify' });
    await verify.click();
    await me.requested;
    await rendered(page);
    expect(await verify.getAttribute('aria-busy')).toBe('true');
    await pressAgain(page, verify);
    me.release();
    await page.getByRole('heading', { name: 'Welcome, Mae' }).waitFor();
    expect(verifies.count).toBe(1);

    // The password step alike.
    const plain = email('once-plain');
    await registerUser(s.server.t.app, { email: plain, password: PASSWORD, full_name: 'Mae' });
    const other = (await s.device()).page;
    await other.goto('/login');
    await other.getByLabel('Email').fill(plain);
    await other.getByLabel('Password').fill(PASSWORD);
    const logins = countPosts(other, '/api/auth/login');
    const loading = await holdMe(other);
    const logIn = other.getByRole('button', { name: 'Log in' });
    await logIn.click();
    await loading.requested;
    await rendered(other);
    expect(await logIn.getAttribute('aria-busy')).toBe('true');
    await pressAgain(other, logIn);
    loading.release();
    await other.getByRole('heading', { name: 'Welcome, Mae' }).waitFor();
    expect(logins.count).toBe(1);
  });

  step('forgot password: the mailed link sets a new one, once', async () => {
    const address = email('forgot');
    await registerUser(s.server.t.app, { email: address, password: PASSWORD });
    const { page } = await s.device();
    await page.goto('/login');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(address);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('Check your email').waitFor();

    const mail = await waitForMail(
      s.server.outboxDir,
      (m) => m.to.includes(address) && /reset/i.test(m.subject),
    );
    const link = linkPath(mail, '/reset-password?token=');
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(page.url()).not.toContain('token=');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(`${NEW_PASSWORD}!`);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('The two passwords are not the same.').waitFor();
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    await logIn(page, address, NEW_PASSWORD);

    // The link works once.
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm new password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('This reset link is not valid').waitFor();
  });

  step('verifies the email address from the mailed link', async () => {
    const address = email('verify');
    await registerUser(s.server.t.app, { email: address, password: PASSWORD });
    const { page } = await s.device();
    await logIn(page, address, PASSWORD);
    await page.getByText('Please verify your email address').waitFor();

    const mail = await waitForMail(
      s.server.outboxDir,
      (m) => m.to.includes(address) && m.text.includes('/verify-email?token='),
    );
    await page.goto(linkPath(mail, '/verify-email?token='));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await page.getByText('Your email address is verified').waitFor();
    // The first proof of the address ended every session on it, this browser's too: the page
    // learnt it from the session and says so.
    await page.getByText('has been signed out: log in again').waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await logIn(page, address, PASSWORD);
    expect(await page.getByText('Please verify your email address').count()).toBe(0);
  });

  step('a password change logs out the other devices; "log out everywhere" the rest', async () => {
    const address = email('change');
    await registerUser(s.server.t.app, {
      email: address,
      password: PASSWORD,
      full_name: 'Katherine Johnson',
    });
    const first = (await s.device()).page;
    await logIn(first, address, PASSWORD);
    const second = (await s.device()).page;
    await logIn(second, address, PASSWORD);

    s.focus(first);
    await navTo(first, 'Security');
    await first.getByLabel('Current password').fill('not my password at all 99');
    await first.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await first.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await first.getByRole('button', { name: 'Change password' }).click();
    await first.getByText('is incorrect').waitFor();
    await first.getByLabel('Current password').fill(PASSWORD);
    await first.getByRole('button', { name: 'Change password' }).click();
    await first.getByText('Password changed. Your other sessions were logged out.').waitFor();
    await expect
      .poll(() => first.getByRole('list', { name: 'Sessions' }).getByRole('listitem').count())
      .toBe(1);

    s.focus(second);
    await second.reload();
    await second.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    await logIn(second, address, NEW_PASSWORD);

    await navTo(second, 'Security');
    await dismissToasts(second);
    await second.getByRole('button', { name: 'Log out everywhere' }).click();
    await second
      .getByRole('dialog', { name: 'Log out everywhere?' })
      .getByRole('button', { name: 'Log out everywhere' })
      .click();
    await second.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();

    s.focus(first);
    await first.reload();
    await first.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
  });

  step('signs up a personal workspace at phone width', async () => {
    const { page } = await s.device({ viewport: { width: 390, height: 844 } });
    await page.goto('/register');
    await page.getByLabel('Personal').check();
    expect(await page.getByLabel('Company name').count()).toBe(0);
    await page.getByLabel('Work email').fill(email('personal'));
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: /^Welcome/ }).waitFor();
    await page.getByText('Personal', { exact: true }).waitFor();
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });

  step('an org that requires MFA sends a member to set it up first', async () => {
    const app = s.server.t.app;
    const owner = await registerUser(app, { email: email('policy-owner'), password: PASSWORD });
    const auth = bearer(owner.access);
    const policy = await app.inject({
      method: 'PATCH',
      url: '/api/orgs/current',
      headers: auth,
      payload: { settings: { mfa_required_roles: ['member'] } },
    });
    expect(policy.statusCode).toBe(200);
    const address = email('policy-member');
    const created = await app.inject({
      method: 'POST',
      url: '/api/orgs/current/users',
      headers: auth,
      payload: { email: address, full_name: 'Annie Easley', role: 'member' },
    });
    expect(created.statusCode).toBe(202);
    // An admin never chooses the password: the new member sets it through the mailed link.
    const setMail = await waitForMail(
      s.server.outboxDir,
      (m) => m.to.includes(address) && m.text.includes('/reset-password?token='),
    );
    const setToken = new URL(
      linkPath(setMail, '/reset-password?token='),
      'http://x',
    ).searchParams.get('token');
    const set = await app.inject({
      method: 'POST',
      url: '/api/auth/password/reset',
      payload: { token: setToken, new_password: PASSWORD },
    });
    expect(set.statusCode).toBe(204);

    const { page } = await s.device();
    await page.goto('/login');
    await page.getByLabel('Email').fill(address);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    // Only the MFA set-up is open to them until they have it.
    await page.getByText('Your organization requires two-factor authentication').waitFor();
    await page.getByRole('heading', { name: 'Account security' }).waitFor();
    await navTo(page, 'Prompts');
    await page.getByRole('heading', { name: 'Account security' }).waitFor();

    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    const secret = await page.getByLabel('Secret key').inputValue();
    await page.getByLabel('Verification code').fill(totpCodeAt(secret, Date.now()));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await page.getByRole('list', { name: 'Backup codes' }).waitFor();
    await page.getByRole('button', { name: 'I have saved my codes' }).click();
    // The session became a full one: the rest of the dashboard opens.
    await expect
      .poll(() => page.getByText('Your organization requires two-factor authentication').count())
      .toBe(0);
    await navTo(page, 'Prompts');
    await page.getByText('No prompts yet').waitFor();
  });

  step(
    'a write whose CSRF cookie is not its session’s renews the session and goes through',
    async () => {
      const address = email('stale-csrf');
      await registerUser(s.server.t.app, { email: address, password: PASSWORD });
      const { context, page } = await s.device();
      await logIn(page, address, PASSWORD);
      const bound = (await context.cookies()).find((c) => c.name === 'sb_csrf')?.value;
      // A cookie from before the token was bound to the session (or from before SECRET_KEY changed).
      await context.addCookies([
        { name: 'sb_csrf', value: 'an-unbound-token-of-an-earlier-version', url: s.server.baseUrl },
      ]);
      await navTo(page, 'Prompts');
      await page.getByText('No prompts yet').waitFor();
      await page.getByRole('button', { name: 'New prompt' }).click();
      const create = page.getByRole('dialog', { name: 'New prompt' });
      await create.getByLabel('Name').fill('Front desk');
      await create.getByLabel('Prompt text').fill('You are the front desk. Be brief.');
      const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
      await create.getByRole('button', { name: 'Create prompt' }).click();
      expect((await refreshed).status()).toBe(200);
      await page.getByText('Prompt "Front desk" created.').waitFor();
      expect((await context.cookies()).find((c) => c.name === 'sb_csrf')?.value).toBe(bound);
    },
  );

  step('renews the session silently before the access token expires, and after', async () => {
    const address = email('refresh');
    await registerUser(s.server.t.app, { email: address, password: PASSWORD });
    const { context, page } = await s.device();
    await page.clock.install();
    await logIn(page, address, PASSWORD);
    const cookie = async (name: string) =>
      (await context.cookies()).find((c) => c.name === name)?.value;
    const firstAccess = await cookie('sb_access');
    const csrf = await cookie('sb_csrf');

    // (Tokens are signed deterministically: let the server's clock reach the next second, so
    // the renewed token differs from the first.)
    await new Promise((r) => setTimeout(r, 1100));
    // Half of the 30-second lifetime later, the page renews the session on its own.
    const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
    await page.clock.fastForward(16_000);
    const res = await refreshed;
    expect(res.status()).toBe(200);
    expect(res.request().headers()['x-csrf-token']).toBe(csrf);
    expect(await cookie('sb_access')).not.toBe(firstAccess);
    // The CSRF token is the session's (bound to it, not to one access token): a request already
    // sent with it still passes after another tab renewed the session.
    expect(await cookie('sb_csrf')).toBe(csrf);

    // An access token that is gone (expired while the laptop slept): the next call gets a 401,
    // the page renews the session and retries — the user notices nothing.
    await context.clearCookies({ name: 'sb_access' });
    const again = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
    await navTo(page, 'Prompts');
    expect((await again).status()).toBe(200);
    await page.getByText('No prompts yet').waitFor();
    expect(new URL(page.url()).pathname).toBe('/app/prompts');
  });
});
