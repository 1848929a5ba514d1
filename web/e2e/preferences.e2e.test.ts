// Remembered preferences in account settings, in Chromium: a member adds, changes and removes
// preferences; a key the rules refuse is named in the form and nothing is stored; what an agent
// worker remembered through the agent API (its API key) shows in the list after a reload.
import { describe, expect } from 'vitest';
import { bearer, registerUser } from '../../src/test/auth-helpers.ts';
import { createKey } from '../../src/test/org-helpers.ts';
import { dismissToasts, expectLabelledControls, logIn, story } from './support/story.ts';

const s = story('preferences');
const step = s.step;
const PASSWORD = 'walnut meadow lantern comet 27';

describe('remembered preferences', () => {
  let page: import('playwright-core').Page;
  let userId: string;
  let access: string;

  step('the account page lists nothing at first', async () => {
    const address = `prefs-${Date.now()}@preferences-e2e.test`;
    const u = await registerUser(s.server.t.app, {
      email: address,
      password: PASSWORD,
      full_name: 'Grace Hopper',
    });
    userId = u.userId;
    access = u.access;
    ({ page } = await s.device());
    await logIn(page, address, PASSWORD);
    await page.goto('/app/account');
    const card = page.getByRole('region', { name: 'Remembered preferences' });
    await card.getByText('Nothing remembered yet.').waitFor();
    await expectLabelledControls(page);
  });

  step('adds and changes a preference', async () => {
    const card = page.getByRole('region', { name: 'Remembered preferences' });
    await card.getByLabel('Key').fill('language');
    await card.getByLabel('Value').fill('French');
    await card.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Remembered “language”.').waitFor();
    const list = card.getByRole('list', { name: 'Preferences' });
    await list.getByText('French').waitFor();

    await card.getByLabel('Key').fill('language');
    await card.getByLabel('Value').fill('Italian');
    await card.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Changed “language”.').waitFor();
    await list.getByText('Italian').waitFor();
    expect(await list.getByText('French').count()).toBe(0);
    await dismissToasts(page);
  });

  step('a key the rules refuse is named, nothing is stored', async () => {
    const card = page.getByRole('region', { name: 'Remembered preferences' });
    await card.getByLabel('Key').fill('my favourite colour');
    await card.getByLabel('Value').fill('teal');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.getByText(/my favourite colour: may contain only letters, digits/).waitFor();
    const res = await s.server.t.app.inject({
      url: `/api/agent/context?identity=${userId}`,
      headers: (await workerKey()).headers,
    });
    expect(res.json().preferences).toEqual({ language: 'Italian' });
  });

  step('what an agent worker remembered shows after a reload; removing forgets it', async () => {
    const key = await workerKey();
    const res = await s.server.t.app.inject({
      method: 'PUT',
      url: `/api/agent/preferences/${userId}`,
      headers: key.headers,
      payload: { key: 'preferred_name', value: 'Amazing Grace' },
    });
    expect(res.statusCode).toBe(200);
    await page.reload();
    const card = page.getByRole('region', { name: 'Remembered preferences' });
    const list = card.getByRole('list', { name: 'Preferences' });
    await list.getByText('Amazing Grace').waitFor();

    await card.getByRole('button', { name: 'Remove preferred_name' }).click();
    await page.getByText('Forgot “preferred_name”.').waitFor();
    await list.getByText('Italian').waitFor();
    expect(await list.getByText('Amazing Grace').count()).toBe(0);
    await page.reload();
    await card.getByRole('list', { name: 'Preferences' }).getByText('Italian').waitFor();
    expect(await card.getByText('Amazing Grace').count()).toBe(0);
  });

  /** An agent worker's key, made by the user (the org's owner) through the API. */
  let cached: { headers: Record<string, string> } | undefined;
  async function workerKey() {
    cached ??= await createKey(s.server.t.app, { headers: bearer(access) }, [
      'agent:context',
      'agent:preferences',
    ]);
    return cached;
  }
});
