// The kill switch in Chromium against a started server: the owner locks the org down from its
// settings page (reason and password), lands on the log-in page told why; a member's log-in says
// the org is suspended; the platform superuser finds it under "Suspended orgs" and resumes it;
// then the member logs in again.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect } from 'vitest';
import { withSystem } from '../../src/db/tenant.ts';
import { GOOD_PASSWORD } from '../../src/test/auth-helpers.ts';
import {
  ADMIN_EMAIL,
  ADMIN_ENV,
  ADMIN_PASSWORD,
  superuser,
  type Team,
  team,
} from '../../src/test/org-helpers.ts';
import { checkPage } from './support/audit.ts';
import { dismissToasts, expectLabelledControls, logIn, navTo, story } from './support/story.ts';

const s = story('suspension', ADMIN_ENV);
const step = s.step;
let a: Team;
let b: Team;
let page: Page;
let suPage: Page;
const SUSPENDED = /Your organization has been suspended or locked down/;

beforeAll(async () => {
  a = await team(s.server.t, 'Langley Voice');
  b = await team(s.server.t, 'Hampton Labs');
  // B's owner is also a member of A (joined later: B stays their default org).
  await withSystem(s.server.t.database, (tx) =>
    tx
      .insertInto('memberships')
      .values({ org_id: a.org.id, user_id: b.owner.user.id, role: 'member' })
      .execute(),
  );
  await superuser(s.server.t);
});

async function passwordStep(p: Page, email: string) {
  await p.goto('/login');
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(GOOD_PASSWORD);
  await p.getByRole('button', { name: 'Log in' }).click();
}

describe('the kill switch', () => {
  step('the owner locks the org down and is told why the session ended', async () => {
    page = s.focus((await s.device()).page);
    await logIn(page, a.owner.email, GOOD_PASSWORD);
    await navTo(page, 'Settings');
    await page.getByRole('heading', { name: 'Lock down' }).waitFor();
    expect(await checkPage(page, { title: 'Organization settings' })).toEqual([]);
    await page.getByRole('button', { name: 'Lock down…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Lock down this organization?' });
    await expectLabelledControls(page);
    // A wrong password first: refused, nothing happens.
    await dialog.getByLabel('Reason').fill('Owner laptop stolen');
    await dialog.getByLabel('Password').fill('not my password at all');
    await dialog.getByRole('button', { name: 'Lock down' }).click();
    await dialog.getByText('Your password is not right.').waitFor();
    await dialog.getByLabel('Password').fill(GOOD_PASSWORD);
    await dialog.getByRole('button', { name: 'Lock down' }).click();
    await page.getByText(SUSPENDED).waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  step('a member cannot log in to it, and is told why', async () => {
    const member = s.focus((await s.device()).page);
    await passwordStep(member, a.member.email);
    await member.getByText(SUSPENDED).waitFor();
    expect(new URL(member.url()).pathname).toBe('/login');
  });

  step('a member of two orgs sees it marked suspended and cannot switch into it', async () => {
    const p = s.focus((await s.device()).page);
    await logIn(p, b.owner.email, GOOD_PASSWORD);
    const option = p
      .getByLabel('Organization')
      .getByRole('option', { name: 'Langley Voice (Member) — suspended' });
    await option.waitFor({ state: 'attached' });
    expect(await option.isDisabled()).toBe(true);
    await p.reload();
    await p.getByRole('heading', { name: /^Welcome/ }).waitFor();
    expect(new URL(p.url()).pathname).toBe('/app');
  });

  step('the superuser finds it under Suspended orgs and resumes it', async () => {
    const su = s.focus((await s.device()).page);
    suPage = su;
    await logIn(su, ADMIN_EMAIL, ADMIN_PASSWORD);
    await navTo(su, 'Suspended orgs');
    const table = su.getByRole('table', { name: 'Suspended organizations' });
    await table.getByText('Langley Voice').waitFor();
    await table.getByText('Locked down').waitFor();
    await table.getByText('Owner laptop stolen').waitFor();
    await table.getByText(a.owner.email).waitFor();
    expect(await checkPage(su, { title: 'Suspended organizations', sidebar: true })).toEqual([]);
    await table.getByRole('button', { name: 'Resume…' }).click();
    const dialog = su.getByRole('dialog', { name: 'Resume Langley Voice?' });
    await expectLabelledControls(su);
    await dialog.getByLabel('Reason').fill('Keys rotated, laptop wiped');
    await dialog.getByRole('button', { name: 'Resume' }).click();
    await su.getByText('Langley Voice is in service again.').waitFor();
    await su.getByText('No suspended organizations').waitFor();
    await dismissToasts(su);
  });

  step('the member logs in again', async () => {
    const member = s.focus((await s.device()).page);
    await passwordStep(member, a.member.email);
    await member.waitForURL((url) => url.pathname === '/app');
  });

  step('the superuser suspends it again, picked from the list', async () => {
    const su = s.focus(suPage);
    const card = su.getByRole('region', { name: 'Suspend an organization' });
    await card
      .getByLabel('Organization', { exact: true })
      .selectOption({ label: 'Langley Voice (5 members)' });
    expect(await card.getByLabel('Organization id').inputValue()).toBe(a.org.id);
    await card.getByLabel('Reason').fill('Abuse report');
    await card.getByRole('button', { name: 'Suspend' }).click();
    await su.getByText(/^Suspended: \d+ sessions ended/).waitFor();
    const table = su.getByRole('table', { name: 'Suspended organizations' });
    await table.getByText('Abuse report').waitFor();
    const member = s.focus((await s.device()).page);
    await passwordStep(member, a.member.email);
    await member.getByText(SUSPENDED).waitFor();
  });
});
