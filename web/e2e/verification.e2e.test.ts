// With REQUIRE_EMAIL_VERIFICATION=true, in Chromium: sign-up creates the account but no session
// (the page says to check the inbox), log-in is refused until the mailed link is followed, then
// log-in works. The link asks for the sign-up password (the account has one and was never
// verified). Each state of the link's page (verifying, password, verified, dead link, failure)
// has its own h1 and document title. A check whose answer was lost, tried again while logged in,
// learns from the session that the address is verified instead of calling the spent link invalid.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { linkPath, waitForMail } from './support/browser.ts';
import { logIn, story } from './support/story.ts';

/** The page's one h1 is `title`, and so is its document title (before " · Switchboard"). */
async function expectTitled(page: Page, title: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor();
  expect(await page.locator('h1').count()).toBe(1);
  await expect.poll(() => page.title()).toBe(`${title} · Switchboard`);
}

const VERIFY = '**/api/auth/email/verify';
let link = '';

const s = story('verification', { REQUIRE_EMAIL_VERIFICATION: 'true' });
const address = `verify-first-${Date.now()}@verify-e2e.test`;
const PASSWORD = 'saffron glacier pelican thimble 31';

describe('sign-up when a verified address is required', () => {
  s.step('signs up, is told to check the inbox, and cannot log in before the link', async () => {
    const { context, page } = await s.device();
    await page.goto('/register');
    await page.getByLabel('Company name').fill('Verified Voice');
    await page.getByLabel('Full name').fill('Ada Lovelace');
    await page.getByLabel('Work email').fill(address);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await page.getByText(`We sent a link to ${address}`).waitFor();
    // No session was opened.
    const names = (await context.cookies()).map((c) => c.name);
    expect(names).not.toContain('sb_access');
    expect(names).not.toContain('sb_refresh');
    await page.goto('/app');
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();

    await page.getByLabel('Email').fill(address);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Please confirm your email address first').waitFor();

    const mail = await waitForMail(
      s.server.outboxDir,
      (m) => m.to.includes(address) && m.text.includes('/verify-email?token='),
    );
    link = linkPath(mail, '/verify-email?token=');
    // While the link is checked, the page says so (the answer is held until it has been seen).
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(VERIFY, async (route) => {
      await held;
      await route.fallback();
    });
    await page.goto(link);
    await expectTitled(page, 'Verifying your email');
    release();
    // The account has a password: the link alone does not verify it, the sign-up password does;
    // whoever did not sign up is shown the way that works for them.
    await page.getByText('Enter the password you chose when you signed up').waitFor();
    await page.unroute(VERIFY);
    await expectTitled(page, 'Verify your email');
    await page.getByRole('link', { name: 'Forgot password' }).waitFor();
    await page.getByLabel('Password').fill('not the sign-up password 77');
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await page.getByText('is incorrect').waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await expectTitled(page, 'Your email address is verified');
    // Logged out, the page cannot know whether sessions elsewhere were signed out: it says when.
    await page.getByText('If it had not been verified before, every session').waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Email').fill(address);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Welcome, Ada' }).waitFor();
  });

  s.step('a spent link and a failed check each have their own title', async () => {
    const { page } = await s.device();
    // The link was used: the page says it is not valid (any more).
    await page.goto(link);
    await expectTitled(page, 'This verification link is not valid');
    await page.getByText('The token is invalid, expired or already used').waitFor();
    // Logged out, nothing says whether it was used (which verified the address) or is dead.
    await page.getByText('If you used it already, your address is verified: log in.').waitFor();
    // The check fails (no answer): not a verdict on the link, and it can be tried again.
    await page.route(VERIFY, (route) => route.abort());
    await page.goto(link);
    await expectTitled(page, 'Could not verify your email');
    await page.unroute(VERIFY);
    await page.getByRole('button', { name: 'Try again' }).click();
    await expectTitled(page, 'This verification link is not valid');
    // A link without its token is not valid either.
    await page.goto('/verify-email');
    await expectTitled(page, 'This verification link is not valid');
  });

  /**
   * A logged-in page of an account verified by a password reset, with the sign-up's verification
   * link still unused: that link alone verifies the (already verified) account and leaves its
   * sessions open.
   */
  async function verifiedByResetWithUnusedLink(name: string, other: string) {
    const signUp = await s.server.t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: {
        company_name: `${name}'s company`,
        full_name: name,
        email: other,
        password: PASSWORD,
      },
    });
    expect(signUp.statusCode).toBe(202);
    const verifyMail = await waitForMail(
      s.server.outboxDir,
      (m) => m.to.includes(other) && m.text.includes('/verify-email?token='),
    );
    const { page } = await s.device();
    await page.goto('/forgot-password');
    await page.getByLabel('Email').fill(other);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('Check your email').waitFor();
    const resetMail = await waitForMail(
      s.server.outboxDir,
      (m) => m.to.includes(other) && m.text.includes('/reset-password?token='),
    );
    await page.goto(linkPath(resetMail, '/reset-password?token='));
    const NEW_PASSWORD = 'marigold anchor lantern quiver 58';
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    await logIn(page, other, NEW_PASSWORD);
    return { page, verifyLink: linkPath(verifyMail, '/verify-email?token=') };
  }

  s.step(
    'logged in, a link that verifies an address verified before keeps the session',
    async () => {
      const { page, verifyLink } = await verifiedByResetWithUnusedLink(
        'Hedy',
        `verify-kept-${Date.now()}@verify-e2e.test`,
      );
      await page.goto(verifyLink);
      await expectTitled(page, 'Your email address is verified');
      await page.getByText('Thank you: your address is verified.', { exact: true }).waitFor();
      expect(await page.getByText('signed out').count()).toBe(0);
      await page.getByRole('link', { name: 'Go to your dashboard' }).click();
      await page.getByRole('heading', { name: 'Welcome, Hedy' }).waitFor();
    },
  );

  s.step('logged in, a failed session check after verifying says nothing untrue', async () => {
    const { page, verifyLink } = await verifiedByResetWithUnusedLink(
      'Ida',
      `verify-unknown-${Date.now()}@verify-e2e.test`,
    );
    // The page's own session loads first; the check after the verification gets a 503.
    let reads = 0;
    await page.route('**/auth/me', async (route) => {
      reads++;
      if (reads === 2) await route.fulfill({ status: 503, body: 'down' });
      else await route.fallback();
    });
    await page.goto(verifyLink);
    await expectTitled(page, 'Your email address is verified');
    // Not "signed out": a 503 is not an ended session.
    await page.getByText('If it had not been verified before, every session').waitFor();
    expect(await page.getByText('has been signed out: log in again').count()).toBe(0);
    expect(reads).toBe(2);
    await page.unroute('**/auth/me');
    // And the session was left as it is.
    await page.goto('/app');
    await page.getByRole('heading', { name: 'Welcome, Ida' }).waitFor();
  });

  s.step('logged in, a check whose answer was lost is verified when tried again', async () => {
    const { page, verifyLink } = await verifiedByResetWithUnusedLink(
      'Grace',
      `verify-lost-${Date.now()}@verify-e2e.test`,
    );

    // The server verifies, but its answer never reaches the page.
    const answers: number[] = [];
    await page.route(VERIFY, async (route) => {
      // Sent again from outside the page, without the browser's Sec-Fetch-Site: named as the
      // browser sends it, or the Origin (this test server, not PUBLIC_URL) has the route refuse.
      const headers = { ...(await route.request().allHeaders()), 'sec-fetch-site': 'same-origin' };
      answers.push((await route.fetch({ headers })).status());
      await route.abort();
    });
    await page.goto(verifyLink);
    await expectTitled(page, 'Could not verify your email');
    expect(answers).toEqual([204]);
    await page.unroute(VERIFY);
    // The retry finds the token spent; the session says the address is verified.
    await page.getByRole('button', { name: 'Try again' }).click();
    await expectTitled(page, 'Your email address is verified');
    await page.getByText('This link was used already').waitFor();
    await page.getByRole('link', { name: 'Go to your dashboard' }).click();
    await page.getByRole('heading', { name: 'Welcome, Grace' }).waitFor();
  });
});
