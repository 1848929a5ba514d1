// The org's people and keys in Chromium against a started server: lists longer than a page
// (API keys, pending invitations) reach their end with "Load more", and an admin is offered only
// what the server lets an admin do — an owner's row reads only, and no role select offers Owner;
// and a person removed from their only org comes back through a new invitation's page.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect } from 'vitest';
import { withSystem } from '../../src/db/tenant.ts';
import { bearer, registerUser } from '../../src/test/auth-helpers.ts';
import { enrolMfa } from '../../src/test/mfa-helpers.ts';
import { linkPath, type OutboxMail, waitForMail } from './support/browser.ts';
import { logIn, navTo, story } from './support/story.ts';

const s = story('team');
const step = s.step;

const stamp = Date.now();
const PASSWORD = 'lantern meadow cobalt ferry 27';
const owner = { email: `team-owner-${stamp}@team-e2e.test`, name: 'Katherine Johnson' };
const admin = { email: `team-admin-${stamp}@team-e2e.test`, name: 'Annie Easley' };
const member = { email: `team-member-${stamp}@team-e2e.test`, name: 'Christine Darden' };
/** One more than the server's default page (20). */
const MANY = 21;

let ownerAccess = '';
let adminId = '';

beforeAll(async () => {
  const app = s.server.t.app;
  const u = await registerUser(app, {
    email: owner.email,
    password: PASSWORD,
    full_name: owner.name,
    company_name: 'Glenn Research',
  });
  ownerAccess = u.access;
  const auth = bearer(u.access);
  for (let i = 0; i < MANY; i++) {
    const key = await app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: auth,
      payload: { name: `Worker ${i + 1}`, scopes: ['prompts:read'] },
    });
    expect(key.statusCode).toBe(201);
    const inv = await app.inject({
      method: 'POST',
      url: '/api/orgs/current/invitations',
      headers: auth,
      payload: { email: `invitee-${i + 1}-${stamp}@team-e2e.test`, role: 'member' },
    });
    expect(inv.statusCode).toBe(201);
  }
  // A member, and an admin who joins through an invitation (a new account with a password).
  const created = await app.inject({
    method: 'POST',
    url: '/api/orgs/current/users',
    headers: auth,
    payload: { email: member.email, full_name: member.name, role: 'member' },
  });
  expect(created.statusCode).toBe(202);
  const invited = await app.inject({
    method: 'POST',
    url: '/api/orgs/current/invitations',
    headers: auth,
    payload: { email: admin.email, role: 'admin' },
  });
  expect(invited.statusCode).toBe(201);
  const mail = await waitForMail(s.server.outboxDir, (m) => m.to.includes(admin.email));
  const token = new URL(linkPath(mail, '/accept-invite?token='), 'http://x').searchParams.get(
    'token',
  );
  const accepted = await app.inject({
    method: 'POST',
    url: '/api/invitations/accept',
    payload: { token, password: PASSWORD, full_name: admin.name },
  });
  expect(accepted.statusCode).toBe(201);
  adminId = accepted.json().user.id;
});

/** The table's rows, its header row included. */
const rows = (page: Page, table: string) =>
  page.getByRole('table', { name: table }).getByRole('row');

describe('members, invitations and keys', () => {
  step('API keys and pending invitations beyond one page come with "Load more"', async () => {
    const { page } = await s.device();
    await logIn(page, owner.email, PASSWORD);

    await navTo(page, 'API keys');
    await rows(page, 'API keys').nth(1).waitFor();
    expect(await rows(page, 'API keys').count()).toBe(1 + 20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows(page, 'API keys').count()).toBe(1 + MANY);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);

    await navTo(page, 'Members');
    await rows(page, 'Pending invitations').nth(1).waitFor();
    expect(await rows(page, 'Pending invitations').count()).toBe(1 + 20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows(page, 'Pending invitations').count()).toBe(1 + MANY);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
  });

  step('an admin may not change or remove an owner, nor make anyone owner', async () => {
    const { page } = await s.device();
    await logIn(page, admin.email, PASSWORD);
    await navTo(page, 'Members');
    const members = page.getByRole('table', { name: 'Members' });
    const memberRole = members.getByLabel(`Role of ${member.name}`);
    await memberRole.waitFor();

    // The owner's row reads only: no role select, no Deactivate.
    const ownerRow = members.getByRole('row').filter({ hasText: owner.name });
    expect(await members.getByLabel(`Role of ${owner.name}`).count()).toBe(0);
    expect(await ownerRow.getByRole('combobox').count()).toBe(0);
    expect(await members.getByRole('button', { name: `Deactivate ${owner.name}` }).count()).toBe(0);
    await ownerRow.getByText('Owner', { exact: true }).waitFor();

    // A member's role select offers the roles an admin may grant, not Owner.
    const offered = await memberRole.locator('option').allTextContents();
    expect(offered).toEqual(['Admin', 'Manager', 'Member']);
    await members.getByRole('button', { name: `Deactivate ${member.name}` }).waitFor();
    // The invitation form offers the same.
    const inviteRoles = await page
      .getByLabel('Role', { exact: true })
      .locator('option')
      .allTextContents();
    expect(inviteRoles).toEqual(['Admin', 'Manager', 'Member']);
  });

  step(
    'removed from their only org, the admin comes back through a new invitation with their password',
    async () => {
      const app = s.server.t.app;
      const auth = bearer(ownerAccess);
      const removed = await app.inject({
        method: 'DELETE',
        url: `/api/orgs/current/members/${adminId}`,
        headers: auth,
      });
      expect(removed.statusCode).toBe(204);
      const invitation = (m: OutboxMail) =>
        m.to.includes(admin.email) && m.text.includes('/accept-invite?token=');
      const first = await waitForMail(s.server.outboxDir, invitation);
      const invited = await app.inject({
        method: 'POST',
        url: '/api/orgs/current/invitations',
        headers: auth,
        payload: { email: admin.email, role: 'manager' },
      });
      expect(invited.statusCode).toBe(201);
      const mail = await waitForMail(
        s.server.outboxDir,
        (m) => invitation(m) && m.file !== first.file,
      );

      const { page } = await s.device();
      await page.goto(linkPath(mail, '/accept-invite?token='));
      await page.getByRole('heading', { name: 'Join your team on Switchboard' }).waitFor();
      // A password that is not the account's: the page says the address has an account.
      await page.getByLabel('Password', { exact: true }).fill('not the password of Annie 3');
      await page.getByRole('button', { name: 'Create account and join' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: "Enter that account's password to accept" })
        .waitFor();
      const own = page.getByLabel('Password of your account');
      await own.fill(PASSWORD);
      await page.getByRole('button', { name: 'Accept invitation' }).click();
      await page.waitForURL((u) => u.pathname === '/app');
      await page.getByText('You are working in Glenn Research.').waitFor();
    },
  );

  step(
    'an account with MFA accepts with its password typed in the first form, then a code',
    async () => {
      const app = s.server.t.app;
      const email = `team-mfa-${stamp}@team-e2e.test`;
      const u = await registerUser(app, {
        email,
        password: PASSWORD,
        full_name: 'Mary Jackson',
        company_name: 'Langley Wind Tunnels',
      });
      await withSystem(s.server.t.database, (tx) =>
        tx
          .updateTable('users')
          .set({ email_verified_at: new Date() })
          .where('email', '=', email)
          .execute(),
      );
      const { backupCodes } = await enrolMfa(app, { access: u.access });
      const invited = await app.inject({
        method: 'POST',
        url: '/api/orgs/current/invitations',
        headers: bearer(ownerAccess),
        payload: { email, role: 'member' },
      });
      expect(invited.statusCode).toBe(201);
      const mail = await waitForMail(
        s.server.outboxDir,
        (m) => m.to.includes(email) && m.text.includes('/accept-invite?token='),
      );

      const { page } = await s.device();
      await page.goto(linkPath(mail, '/accept-invite?token='));
      // The account's own password, typed where a new one was asked for: it is taken as proof.
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account and join' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: 'This account uses two-factor authentication' })
        .waitFor();
      await page.getByLabel('Authentication code').fill(backupCodes[0]!);
      await page.getByRole('button', { name: 'Accept invitation' }).click();
      await page.waitForURL((u) => u.pathname === '/app');
      await page.getByText('You are working in Glenn Research.').waitFor();
    },
  );
});
