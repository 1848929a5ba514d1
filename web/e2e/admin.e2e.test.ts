// The org admin's pages in Chromium against a started server: API keys (shown once, usable,
// revocable), members (role change, deactivation), org settings, the audit log with filters and
// paging, switching orgs — plus keyboard-only login and the phone-width menu.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect } from 'vitest';
import { bearer, GOOD_PASSWORD, registerUser } from '../../src/test/auth-helpers.ts';
import { dismissToasts, expectLabelledControls, navTo, story } from './support/story.ts';

const s = story('admin');
const step = s.step;

const stamp = Date.now();
const owner = { email: `admin-owner-${stamp}@admin-e2e.test`, access: '' };
const member = { email: `admin-member-${stamp}@admin-e2e.test`, name: 'Dorothy Vaughan' };
let page: Page;

beforeAll(async () => {
  const app = s.server.t.app;
  const u = await registerUser(app, {
    email: owner.email,
    full_name: 'Mary Jackson',
    company_name: 'Langley Voice',
  });
  owner.access = u.access;
  const auth = bearer(u.access);
  // A member to manage, added by the owner (admin-created user; they set their password by mail).
  const created = await app.inject({
    method: 'POST',
    url: '/api/orgs/current/users',
    headers: auth,
    payload: { email: member.email, full_name: member.name, role: 'member' },
  });
  expect(created.statusCode).toBe(202);
  // Enough audited events for two pages of the audit log (25 a page).
  for (let i = 0; i < 14; i++) {
    const inv = await app.inject({
      method: 'POST',
      url: '/api/orgs/current/invitations',
      headers: auth,
      payload: { email: `invitee-${i}-${stamp}@admin-e2e.test`, role: 'member' },
    });
    expect(inv.statusCode).toBe(201);
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/api/orgs/current/invitations/${inv.json().id}`,
      headers: auth,
    });
    expect(revoke.statusCode).toBe(204);
  }
  // A second org, to switch to.
  const second = await app.inject({
    method: 'POST',
    url: '/api/orgs',
    headers: auth,
    payload: { name: 'Hampton Labs' },
  });
  expect(second.statusCode).toBe(201);
});

describe('org administration', () => {
  step('logs in with the keyboard alone (and ignores an off-site return address)', async () => {
    page = (await s.device()).page;
    await page.goto('/login?next=//evil.example/phish');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(owner.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(GOOD_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Welcome, Mary' }).waitFor();
    expect(new URL(page.url()).origin).toBe(s.server.baseUrl);
    expect(new URL(page.url()).pathname).toBe('/app');
  });

  step('creates an API key, shown once, that works until it is revoked', async () => {
    s.focus(page);
    await navTo(page, 'API keys');
    await page.getByText('No API keys').waitFor();
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create an API key' });
    await expectLabelledControls(page);
    await dialog.getByLabel('Name').fill('Agent worker');
    await dialog.getByLabel('Prompts — write').check();
    await dialog.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByRole('dialog', { name: 'Your new API key' });
    const key = await shown.getByLabel('API key').inputValue();
    expect(key).toMatch(/^sb_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/);
    await shown.getByRole('button', { name: 'Copy key' }).click();
    await page.getByText('API key copied to the clipboard').waitFor();
    await shown.getByRole('button', { name: 'I have copied the key' }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);

    const table = page.getByRole('table', { name: 'API keys' });
    await table.getByText('Agent worker').waitFor();
    await table.getByText('prompts:write').waitFor();
    // The secret is never shown again.
    expect(await page.getByText(key).count()).toBe(0);

    const call = () =>
      fetch(`${s.server.baseUrl}/api/prompts`, { headers: { authorization: `Bearer ${key}` } });
    expect((await call()).status).toBe(200);

    await dismissToasts(page);
    await table.getByRole('button', { name: 'Revoke Agent worker' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke "Agent worker"?' })
      .getByRole('button', { name: 'Revoke key' })
      .click();
    await page.getByText('API key "Agent worker" revoked. It stopped working.').waitFor();
    await table.getByText('Revoked').waitFor();
    expect((await call()).status).toBe(401);
  });

  step("changes a member's role and deactivates them", async () => {
    s.focus(page);
    await navTo(page, 'Members');
    const members = page.getByRole('table', { name: 'Members' });
    const role = members.getByLabel(`Role of ${member.name}`);
    await role.waitFor();
    await expectLabelledControls(page);
    await role.selectOption('manager');
    await page.getByText(`${member.name} is now manager.`).waitFor();
    await page.reload();
    expect(await members.getByLabel(`Role of ${member.name}`).inputValue()).toBe('manager');

    await dismissToasts(page);
    await members.getByRole('button', { name: `Deactivate ${member.name}` }).click();
    await page
      .getByRole('dialog', { name: `Deactivate ${member.name}?` })
      .getByRole('button', { name: 'Deactivate' })
      .click();
    await page.getByText(`${member.name} was deactivated`, { exact: false }).waitFor();
    await page.getByText('1 deactivated member').waitFor();
    expect(await members.getByText(member.name, { exact: true }).count()).toBe(0);
  });

  step('saves the org settings', async () => {
    s.focus(page);
    await navTo(page, 'Settings');
    const name = page.getByLabel('Organization name');
    await expect.poll(() => name.inputValue()).toBe('Langley Voice');
    await expectLabelledControls(page);
    await name.fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    // The server's field error, next to the field.
    await page.locator('input[name="name"][aria-invalid="true"]').waitFor();

    await name.fill('Langley Voice Labs');
    await page.getByLabel('Manager').check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Organization settings saved.').waitFor();
    await page.reload();
    await expect
      .poll(() => page.getByLabel('Organization name').inputValue())
      .toBe('Langley Voice Labs');
    expect(await page.getByLabel('Manager').isChecked()).toBe(true);
    expect(await page.getByLabel('Owner').isChecked()).toBe(false);
  });

  step('reads the audit log with filters and paging', async () => {
    s.focus(page);
    await navTo(page, 'Audit log');
    const table = page.getByRole('table', { name: 'Audit log events' });
    await table.getByRole('row').nth(1).waitFor();
    expect(await table.getByRole('row').count()).toBe(26); // header + 25
    await expectLabelledControls(page);
    await page.getByText('Page 1').waitFor();
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText('Page 2').waitFor();
    await table.getByRole('row').nth(1).waitFor();
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.getByText('Page 1').waitFor();

    await page.getByLabel('Action').fill('api_key.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await table.getByText('api_key.revoke').waitFor();
    await expect.poll(() => table.getByRole('row').count()).toBe(3);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);

    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No events match these filters').waitFor();

    await page.getByLabel('Action').fill('NOT VALID');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('input[name="action"][aria-invalid="true"]').waitFor();
  });

  step('switches to another org', async () => {
    s.focus(page);
    await navTo(page, 'Overview');
    await page.getByLabel('Organization').selectOption({ label: 'Hampton Labs (Owner)' });
    await page.getByText('Switched to Hampton Labs.').waitFor();
    await page.getByText('You are working in Hampton Labs.').waitFor();
    await navTo(page, 'API keys');
    await page.getByText('No API keys').waitFor();
  });

  step('at phone width, the navigation opens from a menu button', async () => {
    const phone = (await s.device({ viewport: { width: 390, height: 844 } })).page;
    await phone.goto('/login');
    await phone.getByLabel('Email').fill(owner.email);
    await phone.getByLabel('Password').fill(GOOD_PASSWORD);
    await phone.getByRole('button', { name: 'Log in' }).click();
    await phone.getByRole('heading', { name: 'Welcome, Mary' }).waitFor();
    expect(await phone.getByRole('navigation', { name: 'Dashboard' }).count()).toBe(0);
    const menu = phone.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    await menu.click();
    await navTo(phone, 'Prompts');
    await phone.getByRole('heading', { name: 'Prompts', level: 1 }).waitFor();
    expect(await phone.getByRole('navigation', { name: 'Dashboard' }).count()).toBe(0);
    // Nothing wider than the screen.
    const overflow = await phone.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });
});
