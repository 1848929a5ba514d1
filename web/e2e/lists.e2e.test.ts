// Lists and logs of the dashboard in Chromium, with the demo company (web/e2e/support/demo-data.ts)
// and more texts:
// - a long message thread scrolls by keyboard in a named region and passes axe; a conversation is
//   one phone's texts with a number (one number texting two phones is two conversations);
// - the keyboard focus survives "Load more" reaching the end (every list, Messages included) and
//   "Clear" of a filter form;
// - the audit log's Older and Newer keep the focus, to its last page and back;
// - a call cancelled under the Pending filter leaves the list;
// - the usage card's meters are named, and a failed refresh says its figures are not current.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { checkPage, waitForExpression } from './support/audit.ts';
import {
  DEMO_ENV,
  DEMO_NUMBERS,
  DEMO_OWNER,
  DEMO_PASSWORD,
  demoCall,
  seedDemo,
  textIn,
} from './support/demo-data.ts';
import { dismissToasts, logIn, navTo, story } from './support/story.ts';

const s = story('lists', DEMO_ENV);
const step = s.step;

/** Texts the support line (which has no auto-reply) in one thread: more than a page (50). */
const LONG_THREAD = { from: '+14155550190', count: 55 };
/** The demo's customer who texted the main line; here they text support too. */
const TWO_PHONES = '+14155550142';

/** The focused element as "TAG: its text", or BODY when the focus has been lost. */
function focused(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'BODY';
    return el.tagName + ': ' + (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 80);
  })()`) as Promise<string>;
}

/** Until no button of the page is busy (a load under way). */
function notBusy(page: Page): Promise<void> {
  return waitForExpression(
    page,
    `document.querySelector('button[aria-busy="true"]') === null`,
    'done loading more',
  );
}

describe('lists, threads and logs', () => {
  let page: Page;

  step('seeds the demo company, a long thread and one number texting two phones', async () => {
    const { t, baseUrl } = s.server;
    await seedDemo({ base: baseUrl, database: t.database, config: t.config });
    const server = { base: baseUrl, config: t.config };
    // Enough other conversations for a second page of them (20 a page).
    for (let i = 0; i < 17; i++) {
      await textIn(server, {
        from: `+1415555${String(2000 + i)}`,
        to: DEMO_NUMBERS.support,
        body: `Question ${i + 1}`,
      });
    }
    for (let i = 0; i < LONG_THREAD.count; i++) {
      await textIn(server, {
        from: LONG_THREAD.from,
        to: DEMO_NUMBERS.support,
        body: `Long thread message ${i + 1}`,
      });
    }
    await textIn(server, {
      from: TWO_PHONES,
      to: DEMO_NUMBERS.support,
      body: 'Is support open on Sunday?',
    });
    // Enough audited events for more than two pages of the audit log (25 a page).
    const { access_token: token } = await demoCall(baseUrl, 'POST', '/api/auth/login', null, {
      email: DEMO_OWNER.email,
      password: DEMO_PASSWORD,
    });
    for (let i = 0; i < 30; i++) {
      const inv = await demoCall(baseUrl, 'POST', '/api/orgs/current/invitations', token, {
        email: `invitee-${i}@lists-e2e.test`,
        role: 'member',
      });
      await demoCall(baseUrl, 'DELETE', `/api/orgs/current/invitations/${inv.id}`, token);
    }
    ({ page } = await s.device({ viewport: { width: 1280, height: 800 } }));
    await logIn(page, DEMO_OWNER.email, DEMO_PASSWORD);
  });

  step('"Load older messages" reaching the start keeps the focus in the thread', async () => {
    s.focus(page);
    await navTo(page, 'Messages');
    await page
      .getByRole('list', { name: 'Conversations' })
      .getByRole('link', { name: new RegExp(`^\\${LONG_THREAD.from}`) })
      .click();
    const thread = page.getByRole('list', { name: `Messages with ${LONG_THREAD.from}` });
    await thread.getByText(`Long thread message ${LONG_THREAD.count}`, { exact: true }).waitFor();
    const older = page.getByRole('button', { name: 'Load older messages' });
    await older.focus();
    await page.keyboard.press('Enter');
    await thread.getByText('Long thread message 1', { exact: true }).waitFor();
    await notBusy(page);
    expect(await older.count()).toBe(0);
    expect(await focused(page)).toBe('P: The conversation starts here.');
  });

  step(
    'the whole long thread scrolls in a named region by keyboard; no serious axe finding',
    async () => {
      // The selected row's grey text keeps its contrast on the row's tint, and the thread's box (no
      // button in it now) is a focusable named region: axe (color-contrast,
      // scrollable-region-focusable) and the walk's own check of scrolling boxes find nothing.
      expect(await checkPage(page, { title: 'Messages' })).toEqual([]);
      const region = page.getByRole('region', { name: `Message thread with ${LONG_THREAD.from}` });
      await region.focus();
      const box = `document.querySelector('section[aria-label="Message thread with ${LONG_THREAD.from}"]')`;
      const scrollTop = () => page.evaluate(`${box}.scrollTop`) as Promise<number>;
      const bottom = (await page.evaluate(`${box}.scrollHeight - ${box}.clientHeight`)) as number;
      expect(bottom).toBeGreaterThan(0);
      await page.keyboard.press('End');
      await expect.poll(scrollTop).toBeGreaterThanOrEqual(bottom - 1);
      await page.keyboard.press('PageUp');
      await expect.poll(scrollTop).toBeLessThan(bottom - 100);
    },
  );

  step('the conversations\' "Load more" reaching the end keeps the focus', async () => {
    const more = page.getByRole('region', { name: 'Conversations' }).getByRole('button', {
      name: 'Load more',
    });
    await more.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => more.count()).toBe(0);
    expect(await focused(page)).toBe('P: That is every conversation.');
  });

  step('one number texting two phones: two conversations, each opens its own', async () => {
    await page.goto('/app/messages');
    // The demo's conversation with the main line is on the second page.
    await page.getByRole('button', { name: 'Load more' }).click();
    const rows = page
      .getByRole('list', { name: 'Conversations' })
      .getByRole('link', { name: new RegExp(`^\\${TWO_PHONES}`) });
    await expect.poll(() => rows.count()).toBe(2);
    const thread = page.getByRole('list', { name: `Messages with ${TWO_PHONES}` });
    const current = page
      .getByRole('list', { name: 'Conversations' })
      .locator('a[aria-current="page"]');

    await rows.filter({ hasText: '· Support' }).click();
    await thread.getByText('Is support open on Sunday?').waitFor();
    await expect.poll(() => thread.getByText('Hi, where is order 1042?').count()).toBe(0);
    await expect.poll(() => current.count()).toBe(1);
    expect(await current.textContent()).toContain('· Support');
    // The link names the conversation's phone.
    expect(new URL(page.url()).searchParams.get('via')).toMatch(/^[0-9a-f-]{36}$/);

    await rows.filter({ hasText: '· Main line' }).click();
    await thread.getByText('Hi, where is order 1042?').waitFor();
    await expect.poll(() => thread.getByText('Is support open on Sunday?').count()).toBe(0);
    await expect.poll(() => current.count()).toBe(1);
    expect(await current.textContent()).toContain('· Main line');

    // A link without a phone (an old one) opens every text with the number and marks no row
    // current: both rows have a phone, neither is that thread.
    await page.goto(`/app/messages?with=${encodeURIComponent(TWO_PHONES)}`);
    await page.getByRole('button', { name: 'Load more' }).click();
    await thread.getByText('Is support open on Sunday?').waitFor();
    await expect.poll(() => rows.count()).toBe(2);
    expect(await current.count()).toBe(0);
  });

  step('the call log\'s "Load more" reaching the end keeps the focus', async () => {
    await navTo(page, 'Calls');
    const log = page.getByRole('region', { name: 'Call log' });
    const more = log.getByRole('button', { name: 'Load more' });
    await more.focus();
    for (let i = 0; i < 30 && (await more.count()) > 0; i++) {
      expect(await focused(page)).toBe('BUTTON: Load more');
      await page.keyboard.press('Enter');
      await notBusy(page);
    }
    expect(await more.count()).toBe(0);
    expect(await focused(page)).toBe('P: That is the whole list.');
  });

  step('"Clear" of the call log\'s filters keeps the focus in the form', async () => {
    const form = page.getByRole('form', { name: 'Filter calls' });
    await form.getByLabel('Status').selectOption({ label: 'No answer' });
    await form.getByRole('button', { name: 'Apply filters' }).click();
    const clear = form.getByRole('button', { name: 'Clear' });
    await clear.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => clear.count()).toBe(0);
    expect(await focused(page)).toMatch(/^SELECT: /);
    expect(await form.getByLabel('Status').inputValue()).toBe('');
  });

  step("the audit log's Older and Newer keep the focus, to the last page and back", async () => {
    await page.goto('/app/org/audit');
    const pages = page.getByRole('navigation', { name: 'Audit log pages' });
    const older = pages.getByRole('button', { name: 'Older' });
    // Older is enabled while the first page still loads, and does nothing then (no cursor yet):
    // press it only once that page is shown.
    await page.getByRole('table', { name: 'Audit log events' }).waitFor();
    await expect.poll(() => older.isEnabled()).toBe(true);
    await older.focus();
    // Older until the last page: while each page loads the focus stays on Older; at the last,
    // Older is disabled and the focus moves to Newer.
    for (let i = 0; i < 20 && (await older.isEnabled()); i++) {
      await page.keyboard.press('Enter');
      await pages.getByText(`Page ${i + 2}`, { exact: true }).waitFor();
      await notBusy(page);
      expect(await focused(page)).toMatch(/^BUTTON: (Older|Newer)$/);
    }
    expect(await older.isDisabled()).toBe(true);
    expect(await focused(page)).toBe('BUTTON: Newer');
    await page.keyboard.press('Enter');
    await notBusy(page);
    expect(await focused(page)).toMatch(/^BUTTON: (Older|Newer)$/);
  });

  step('a call cancelled under the Pending filter leaves the list', async () => {
    await navTo(page, 'Scheduled calls');
    await page.getByLabel('Status', { exact: true }).selectOption('pending');
    const table = page.getByRole('table', { name: 'Scheduled calls' });
    const row = table.getByRole('row').filter({ hasText: '+14155550177' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Cancel the call to +14155550177' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel call' }).click();
    await page.getByText('The call to +14155550177 is cancelled.').waitFor();
    await dismissToasts(page);
    await expect.poll(() => row.count()).toBe(0);
    await table.getByRole('row').filter({ hasText: '+14155550188' }).waitFor();
  });

  step('the usage card names each meter', async () => {
    await page.goto('/app');
    const card = page.getByRole('region', { name: 'Usage' });
    await expect.poll(() => card.locator('meter').count()).toBe(4);
    for (const name of [
      'Live calls',
      'Voice sessions',
      'Device streams',
      'Scheduled calls today',
    ]) {
      expect(await card.getByRole('meter', { name, exact: true }).count(), name).toBe(1);
    }
  });

  step('the usage card says when a refresh failed, over the last figures', async () => {
    const { page: usage } = await s.device({ viewport: { width: 1280, height: 800 } });
    await logIn(usage, DEMO_OWNER.email, DEMO_PASSWORD);
    await usage.clock.install();
    await usage.goto('/app');
    const card = usage.getByRole('region', { name: 'Usage' });
    await expect.poll(() => card.locator('meter').count()).toBe(4);
    await usage.route('**/api/orgs/current/usage', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/problem+json',
        body: JSON.stringify({ title: 'Internal Server Error', status: 500 }),
      }),
    );
    // The card refreshes every 15 seconds.
    await usage.clock.runFor(16_000);
    await card.getByText(/^Could not refresh: /).waitFor();
    // The last figures stay, under the warning.
    expect(await card.locator('meter').count()).toBe(4);
  });
});
