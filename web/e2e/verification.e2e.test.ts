// With REQUIRE_EMAIL_VERIFICATION=true, in Chromium: sign-up creates the account but no session
// (the page says to check the inbox), log-in is refused until the mailed link is followed, then
// log-in works. The link asks for the sign-up password (the account has one and was never
// verified).
import { describe, expect } from 'vitest';
import { linkPath, waitForMail } from './support/browser.ts';
import { story } from './support/story.ts';

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
    await page.goto(linkPath(mail, '/verify-email?token='));
    // The account has a password: the link alone does not verify it, the sign-up password does;
    // whoever did not sign up is shown the way that works for them.
    await page.getByText('Enter the password you chose when you signed up').waitFor();
    await page.getByRole('link', { name: 'Forgot password' }).waitFor();
    await page.getByLabel('Password').fill('not the sign-up password 77');
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await page.getByText('is incorrect').waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await page.getByText('Your email address is verified').waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Email').fill(address);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Welcome, Ada' }).waitFor();
  });
});
