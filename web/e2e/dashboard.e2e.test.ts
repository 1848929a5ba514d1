// The dashboard end to end, in Chromium, against a started server: sign up → enable MFA (code
// computed from the secret shown on the page) → log out → log in with TOTP → log in on a second
// device with a backup code → revoke the first device's session → invite a teammate, who accepts
// from the mail in the outbox → the teammate (member) cannot see the org settings → the teammate
// creates, edits and deletes a prompt. The steps share one browser and run in order.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { totpCodeAt, totpStep } from '../../src/mfa/totp.ts';
import { linkPath, waitForMail } from './support/browser.ts';
import { dismissToasts, expectLabelledControls, navTo, story } from './support/story.ts';

const PASSWORD = 'violet tugboat orchard lantern 77';
const TEAMMATE_PASSWORD = 'copper meadow falcon riddle 19';

const s = story('dashboard');
const step = s.step;

const owner = {
  email: `owner-${Date.now()}@acme-voice.test`,
  name: 'Grace Hopper',
  company: 'Acme Voice',
  secret: '',
  enabledStep: 0,
  backupCodes: [] as string[],
};
const teammate = { email: `teammate-${Date.now()}@acme-voice.test`, name: 'Alan Turing' };

describe('dashboard', () => {
  let laptop: Page;
  let phone: Page;
  let teammatePage: Page;

  step('signs up from the landing page, with the server judging the password', async () => {
    const laptopDevice = await s.device();
    laptop = laptopDevice.page;
    await laptop.goto('/');
    await expect(
      laptop.getByRole('heading', { level: 1, name: /voice-agent business/ }).isVisible(),
    ).resolves.toBe(true);
    await laptop
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Sign up' })
      .click();
    await laptop.getByRole('heading', { name: 'Create your Switchboard account' }).waitFor();

    await expectLabelledControls(laptop);
    await laptop.getByLabel('Company name').fill(owner.company);
    await laptop.getByLabel('Full name').fill(owner.name);
    await laptop.getByLabel('Work email').fill(owner.email);
    const password = laptop.getByLabel('Password', { exact: true });
    // The rules update as the user types…
    await password.fill('short');
    await laptop.getByText('At least 15 characters (not met)').waitFor();
    // …and the server's verdict on a password it refuses appears next to the field.
    await password.fill('grace hopper grace hopper');
    await laptop.getByRole('button', { name: 'Create account' }).click();
    await laptop.locator('input[name="password"][aria-invalid="true"]').waitFor();
    const errorId = (await password.getAttribute('aria-describedby'))
      ?.split(' ')
      .find((id) => id.endsWith('-error'));
    expect(errorId).toBeTruthy();
    expect(await laptop.locator(`[id="${errorId}"]`).textContent()).toMatch(/email|name/i);

    await password.fill(PASSWORD);
    await laptop.getByRole('button', { name: 'Create account' }).click();
    await laptop.getByRole('heading', { name: 'Welcome, Grace' }).waitFor();
    expect(new URL(laptop.url()).pathname).toBe('/app');
    // The session is in HttpOnly cookies only; nothing lands in web storage.
    const cookies = await laptopDevice.context.cookies();
    expect(cookies.find((c) => c.name === 'sb_access')?.httpOnly).toBe(true);
    expect(cookies.find((c) => c.name === 'sb_refresh')?.httpOnly).toBe(true);
    // (Evaluated in the page: strings, since this file is compiled without the DOM library.)
    expect(await laptop.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await laptop.evaluate('document.cookie')).not.toContain('sb_access');
  });

  step('enables MFA with the secret shown next to the QR code', async () => {
    s.focus(laptop);
    await navTo(laptop, 'Security');
    await laptop.getByRole('heading', { name: 'Account security' }).waitFor();
    await laptop.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await laptop.getByRole('button', { name: 'Continue' }).click();
    const qr = laptop.getByRole('img', { name: /QR code/ });
    await qr.waitFor();
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/(png|svg)/);
    await expectLabelledControls(laptop);
    owner.secret = await laptop.getByLabel('Secret key').inputValue();
    expect(owner.secret).toMatch(/^[A-Z2-7]{16,}=*$/);

    // A wrong code first: the form says so next to the field.
    await laptop.getByLabel('Verification code').fill('000000');
    await laptop.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await laptop.getByText(/That code is not right/).waitFor();

    const now = Date.now();
    owner.enabledStep = totpStep(now);
    await laptop.getByLabel('Verification code').fill(totpCodeAt(owner.secret, now));
    await laptop.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    const list = laptop.getByRole('list', { name: 'Backup codes' });
    await list.waitFor();
    owner.backupCodes = (await list.getByRole('listitem').allInnerTexts()).map((c) => c.trim());
    expect(owner.backupCodes).toHaveLength(10);
    expect(new Set(owner.backupCodes).size).toBe(10);

    const [download] = await Promise.all([
      laptop.waitForEvent('download'),
      laptop.getByRole('button', { name: 'Download .txt' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('switchboard-backup-codes.txt');
    const saved = readFileSync((await download.path()) as string, 'utf8');
    for (const code of owner.backupCodes) expect(saved).toContain(code);

    await laptop.getByRole('button', { name: 'I have saved my codes' }).click();
    await laptop.getByRole('button', { name: 'Regenerate backup codes' }).waitFor();
    expect(await laptop.getByRole('list', { name: 'Backup codes' }).count()).toBe(0);
  });

  step('logs out', async () => {
    s.focus(laptop);
    // The "two-factor is on" toast sits over the bottom of the page: close it like a user would.
    await dismissToasts(laptop);
    await laptop
      .getByRole('region', { name: 'Sessions and devices' })
      .getByRole('button', { name: 'Log out', exact: true })
      .click();
    await laptop.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    await laptop.goto('/app/account');
    await laptop.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
  });

  step('logs in with email, password and a TOTP code', async () => {
    s.focus(laptop);
    await laptop.getByLabel('Email').fill(owner.email);
    await laptop.getByLabel('Password').fill(PASSWORD);
    await laptop.getByRole('button', { name: 'Log in' }).click();
    await laptop.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();

    await laptop.getByLabel('Authentication code').fill('123456');
    await laptop.getByRole('button', { name: 'Verify' }).click();
    await laptop.getByText(/That code is not right/).waitFor();

    // The enrolment code's time step is spent: the next step's code (within the ±1 drift window).
    const code = totpCodeAt(owner.secret, (owner.enabledStep + 1) * 30_000);
    await laptop.getByLabel('Authentication code').fill(code);
    await laptop.getByRole('button', { name: 'Verify' }).click();
    // Back where the user wanted to go before logging in.
    await laptop.getByRole('heading', { name: 'Account security' }).waitFor();
  });

  step('logs in on a second device with a backup code', async () => {
    phone = (await s.device()).page;
    await phone.goto('/login');
    await phone.getByLabel('Email').fill(owner.email);
    await phone.getByLabel('Password').fill(PASSWORD);
    await phone.getByRole('button', { name: 'Log in' }).click();
    await phone.getByRole('button', { name: 'Use a backup code instead' }).click();
    await phone.getByLabel('Backup code').fill(owner.backupCodes[0]!);
    await phone.getByRole('button', { name: 'Verify' }).click();
    await phone.getByRole('heading', { name: 'Welcome, Grace' }).waitFor();
  });

  step('revokes the other session from the sessions list', async () => {
    s.focus(phone);
    await navTo(phone, 'Security');
    const sessions = phone.getByRole('list', { name: 'Sessions' });
    await sessions.getByText('This device').waitFor();
    expect(await sessions.getByRole('listitem').count()).toBe(2);
    await sessions.getByRole('button', { name: /^Revoke session on/ }).click();
    await phone.getByText(/^Logged out /).waitFor();
    await expect.poll(() => sessions.getByRole('listitem').count()).toBe(1);

    // The laptop's session is over: its next request lands on the log-in page.
    s.focus(laptop);
    await laptop.reload();
    await laptop.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
  });

  step('invites a teammate, who accepts from the mail in the outbox', async () => {
    s.focus(phone);
    await navTo(phone, 'Members');
    await phone.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
    await phone.getByLabel('Email address').fill(teammate.email);
    await phone.getByLabel('Role', { exact: true }).selectOption('member');
    await phone.getByRole('button', { name: 'Send invitation' }).click();
    await phone.getByText(`Invitation sent to ${teammate.email}.`).waitFor();
    await phone
      .getByRole('table', { name: 'Pending invitations' })
      .getByText(teammate.email)
      .waitFor();

    const mail = await waitForMail(s.server.outboxDir, (m) => m.to.includes(teammate.email));
    const path = linkPath(mail, '/accept-invite?token=');

    teammatePage = (await s.device()).page;
    await teammatePage.goto(path);
    await teammatePage.getByRole('heading', { name: 'Join your team on Switchboard' }).waitFor();
    // The one-time token does not stay in the address bar.
    expect(teammatePage.url()).not.toContain('token=');
    await teammatePage.getByLabel('Full name').fill(teammate.name);
    await teammatePage.getByLabel('Password', { exact: true }).fill(TEAMMATE_PASSWORD);
    await teammatePage.getByRole('button', { name: 'Create account and join' }).click();
    await teammatePage.getByRole('heading', { name: 'Welcome, Alan' }).waitFor();
    await teammatePage.getByText(`You are working in ${owner.company}.`).waitFor();

    // The owner sees the new member, and the invitation is no longer pending.
    s.focus(phone);
    await phone.reload();
    const members = phone.getByRole('table', { name: 'Members' });
    await members.getByText(teammate.name, { exact: true }).waitFor();
    expect(await members.getByLabel(`Role of ${teammate.name}`).inputValue()).toBe('member');
    await phone.getByText('No pending invitations').waitFor();
  });

  step('the teammate, a member, cannot see the org settings', async () => {
    s.focus(teammatePage);
    const nav = teammatePage.getByRole('navigation', { name: 'Dashboard' });
    await nav.getByRole('link', { name: 'Members' }).waitFor();
    for (const name of ['Settings', 'API keys', 'Audit log']) {
      expect(await nav.getByRole('link', { name }).count()).toBe(0);
    }
    await teammatePage.goto('/app/org/settings');
    await teammatePage
      .getByRole('heading', { name: "You don't have access to this page" })
      .waitFor();
    expect(await teammatePage.getByLabel('Organization name').count()).toBe(0);
  });

  step('the teammate creates, edits and deletes a prompt', async () => {
    s.focus(teammatePage);
    await navTo(teammatePage, 'Prompts');
    await teammatePage.getByText('No prompts yet').waitFor();

    await teammatePage.getByRole('button', { name: 'New prompt' }).click();
    const create = teammatePage.getByRole('dialog', { name: 'New prompt' });
    await expectLabelledControls(teammatePage);
    await create.getByLabel('Name').fill('Front desk');
    await create.getByLabel('Description').fill('Greets callers');
    await create.getByLabel('Prompt text').fill('You are the front desk of Acme Voice. Be brief.');
    await create.getByRole('button', { name: 'Create prompt' }).click();
    await teammatePage.getByText('Prompt "Front desk" created.').waitFor();
    const list = teammatePage.getByRole('list', { name: 'Prompts' });
    await list.getByText('Front desk').waitFor();

    await teammatePage.getByRole('button', { name: 'Edit Front desk' }).click();
    const edit = teammatePage.getByRole('dialog', { name: 'Edit prompt' });
    await edit.getByLabel('Name').fill('Reception');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await teammatePage.getByText('Prompt "Reception" saved.').waitFor();
    await list.getByText('Reception').waitFor();
    expect(await list.getByText('Front desk').count()).toBe(0);

    // Still there after a reload: it was saved on the server.
    await teammatePage.reload();
    await teammatePage.getByRole('list', { name: 'Prompts' }).getByText('Reception').waitFor();

    await teammatePage.getByRole('button', { name: 'Delete Reception' }).click();
    await teammatePage
      .getByRole('dialog', { name: 'Delete "Reception"?' })
      .getByRole('button', { name: 'Delete prompt' })
      .click();
    await teammatePage.getByText('Prompt "Reception" deleted.').waitFor();
    await teammatePage.getByText('No prompts yet').waitFor();
    await teammatePage.reload();
    await teammatePage.getByText('No prompts yet').waitFor();
  });
});
