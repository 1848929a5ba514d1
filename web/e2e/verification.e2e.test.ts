// With REQUIRE_EMAIL_VERIFICATION=true, in Chromium: sign-up creates the account but no session
// (the page says to check the inbox), log-in is refused until the mailed link is followed, then
// log-in works. The link asks for the sign-up password (the account has one and was never
// verified). Each state of the link's page (verifying, password, verified, dead link, failure)
// has its own h1 and document title.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { linkPath, waitForMail } from './support/browser.ts';
import { story } from './support/story.ts';

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
});
