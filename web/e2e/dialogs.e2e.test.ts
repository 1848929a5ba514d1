// The dashboard's shared dialog and form mechanics in Chromium, on the API keys page (any page's
// dialogs use the same components): closing a dialog gives the focus back to what opened it, a
// busy submit button keeps the focus and ignores a second press, a refused form moves the focus
// to its first invalid field, and a confirmed action that fails says why inside its dialog.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect } from 'vitest';
import { bearer, registerUser } from '../../src/test/auth-helpers.ts';
import { logIn, navTo, story } from './support/story.ts';

const s = story('dialogs');
const step = s.step;

let page: Page;
let email = '';
let password = '';

/** What has the keyboard focus: its tag and accessible name (text, aria-label or label). */
function focused(p: Page): Promise<string> {
  // A string: the page's DOM types are not this (Node) program's.
  return p.evaluate(`(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    const label =
      el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '';
    return el.tagName.toLowerCase() + ' ' + label.trim();
  })()`) as Promise<string>;
}

beforeAll(async () => {
  const app = s.server.t.app;
  const u = await registerUser(app, {
    email: `dialogs-${Date.now()}@dialogs-e2e.test`,
    full_name: 'Grace Hopper',
  });
  email = u.email;
  password = u.password;
  const created = await app.inject({
    method: 'POST',
    url: '/api/api-keys',
    headers: bearer(u.access),
    payload: { name: 'Nightly export', scopes: ['prompts:read'] },
  });
  expect(created.statusCode).toBe(201);
});

describe('dialogs and forms', () => {
  step('closing a dialog, by Cancel or by Escape, gives the focus back to its opener', async () => {
    page = (await s.device()).page;
    await logIn(page, email, password);
    await navTo(page, 'API keys');
    const opener = page.getByRole('button', { name: 'Create API key' });
    const dialog = page.getByRole('dialog', { name: 'Create an API key' });

    await opener.click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('button Create API key');

    await opener.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('button Create API key');

    // A confirmation (kept mounted, opened and closed): the same.
    const revoke = page.getByRole('button', { name: 'Revoke Nightly export' });
    await revoke.click();
    const confirm = page.getByRole('dialog', { name: 'Revoke "Nightly export"?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    expect(await focused(page)).toBe('button Revoke Nightly export');
  });

  step(
    'a busy submit keeps the focus and sends once; a refusal focuses the invalid field',
    async () => {
      s.focus(page);
      await page.reload();
      let posts = 0;
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      await page.route('**/api/api-keys', async (route) => {
        if (route.request().method() !== 'POST') return route.fallback();
        posts++;
        await held;
        await route.fallback();
      });
      await page.getByRole('button', { name: 'Create API key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create an API key' });
      // A name of spaces alone: the server refuses it, naming the field.
      await dialog.getByLabel('Name').fill('   ');
      const submit = dialog.getByRole('button', { name: 'Create key' });
      await submit.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => submit.getAttribute('aria-busy')).toBe('true');
      expect(await focused(page)).toBe('button Create key');
      // Pressed again while busy: nothing more is sent.
      await page.keyboard.press('Enter');
      await submit.click({ force: true });
      expect(posts).toBe(1);

      release();
      const name = dialog.getByLabel('Name');
      await expect.poll(() => name.getAttribute('aria-invalid')).toBe('true');
      await expect.poll(() => focused(page)).toBe('input Name');
      expect(posts).toBe(1);
      await page.unroute('**/api/api-keys');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    },
  );

  step(
    'a refusal focuses the invalid field also when the submit left the focus outside the form',
    async () => {
      // Safari and Firefox on macOS do not focus a clicked button: the form is sent while the
      // focus is elsewhere (here: the body), and the form that was sent must still be found.
      s.focus(page);
      await page.reload();
      await page.getByRole('button', { name: 'Create API key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create an API key' });
      const name = dialog.getByLabel('Name');
      await name.fill('   ');
      await page.evaluate(`(() => {
        document.activeElement?.blur();
        document.querySelector('dialog[open] form').requestSubmit();
      })()`);
      await expect.poll(() => name.getAttribute('aria-invalid')).toBe('true');
      await expect.poll(() => focused(page)).toBe('input Name');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    },
  );

  step('a confirmed action that fails says why inside its dialog', async () => {
    s.focus(page);
    await page.reload();
    await page.route('**/api/api-keys/*', (route) =>
      route.request().method() === 'DELETE'
        ? route.fulfill({
            status: 503,
            contentType: 'application/problem+json',
            body: JSON.stringify({
              type: 'about:blank',
              title: 'Service unavailable',
              status: 503,
              code: 'unavailable',
              detail: 'The key store is briefly unavailable. Try again in a moment.',
            }),
          })
        : route.fallback(),
    );
    await page.getByRole('button', { name: 'Revoke Nightly export' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke "Nightly export"?' });
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    const alert = confirm.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain(
      'The key store is briefly unavailable. Try again in a moment.',
    );
    // The dialog stays open on the failure; closed and opened again, it starts afresh.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Revoke Nightly export' }).click();
    await confirm.waitFor();
    expect(await confirm.getByRole('alert').count()).toBe(0);

    await page.unroute('**/api/api-keys/*');
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('API key "Nightly export" revoked. It stopped working.').waitFor();
    await confirm.waitFor({ state: 'hidden' });
  });
});
