// The Messages page in Chromium against the real server, with the demo company
// (web/e2e/support/demo-data.ts) and more texts through the signed SMS webhook:
// - a conversation on a later page that receives a text while the first page is shown (it moves
//   above the cursor) is still reached by "Load more", once, as it is now;
// - "All phones" in the phone filter lists every phone's conversations again;
// - a conversation without a phone (phone_id null) opens its own texts only, and its row is the
//   one marked current.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { withSystem } from '../../src/db/tenant.ts';
import { newId } from '../../src/http/ids.ts';
import { checkPage } from './support/audit.ts';
import {
  DEMO_ENV,
  DEMO_NUMBERS,
  DEMO_OWNER,
  DEMO_PASSWORD,
  demoCall,
  seedDemo,
  textIn,
} from './support/demo-data.ts';
import { logIn, story } from './support/story.ts';

const s = story('messages', DEMO_ENV);
const step = s.step;

/** The demo's customer who texted the main line; here they also have a phone-less text. */
const CUSTOMER = '+14155550142';
/** Texts the support line after the demo's: 21 conversations, so the demo's are on page 2. */
const OTHERS = Array.from({ length: 21 }, (_, i) => `+1415555${String(3000 + i)}`);
/** The oldest of them: on the second page (20 a page) until it texts again. */
const MOVER = OTHERS[0]!;

function server() {
  const { t, baseUrl } = s.server;
  return { base: baseUrl, config: t.config };
}

describe('messages page', () => {
  let page: Page;
  const list = () => page.getByRole('list', { name: 'Conversations' });
  const rows = () => list().getByRole('link');
  const current = () => list().locator('a[aria-current="page"]');
  const thread = () => page.getByRole('list', { name: `Messages with ${CUSTOMER}` });

  step('seeds the demo, a phone-less text and 21 more conversations', async () => {
    const { t, baseUrl } = s.server;
    await seedDemo({ base: baseUrl, database: t.database, config: t.config });
    const { access_token: token } = await demoCall(baseUrl, 'POST', '/api/auth/login', null, {
      email: DEMO_OWNER.email,
      password: DEMO_PASSWORD,
    });
    const me = await demoCall(baseUrl, 'GET', '/auth/me', token);
    // A text logged without a routing phone (phone_id null), as the webhook stores one when the
    // number it was sent to is no longer an active phone of the org.
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('messages')
        .values({
          id: newId(),
          org_id: me.org.id as string,
          message_sid: `SM${'a'.repeat(32)}`,
          phone_id: null,
          direction: 'inbound',
          from_number: CUSTOMER,
          to_number: '+14155550999',
          counterpart: CUSTOMER,
          body: 'Sent to your old number',
          status: 'received',
        })
        .execute(),
    );
    for (const [i, from] of OTHERS.entries()) {
      await textIn(server(), { from, to: DEMO_NUMBERS.support, body: `Question ${i + 1}` });
    }
    ({ page } = await s.device({ viewport: { width: 1280, height: 800 } }));
    await logIn(page, DEMO_OWNER.email, DEMO_PASSWORD);
  });

  step('a conversation that moves above the cursor is still reached by "Load more"', async () => {
    s.focus(page);
    await page.goto('/app/messages');
    await expect.poll(() => rows().count()).toBe(20);
    const mover = rows().filter({ hasText: MOVER });
    expect(await mover.count()).toBe(0);
    // While the first page is shown, the oldest conversation (on the second page) receives a
    // text: it is now the newest of all, above the first page's cursor.
    await textIn(server(), { from: MOVER, to: DEMO_NUMBERS.support, body: 'Any news?' });
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('That is every conversation.').waitFor();
    // Every conversation once: the 21, the demo's two, the customer's phone-less one.
    await expect.poll(() => mover.count()).toBe(1);
    expect(await rows().count()).toBe(24);
    expect(await mover.textContent()).toContain('Any news?');
    expect(await mover.textContent()).toContain('2 messages');
    // Newest first: it leads the list.
    expect(await rows().first().textContent()).toContain(MOVER);
  });

  step('"All phones" lists every phone\'s conversations again', async () => {
    await page.goto('/app/messages');
    await page.getByLabel('Phone').selectOption({ label: '+14155550100 · Main line' });
    await expect.poll(() => rows().count()).toBe(2);
    await rows().filter({ hasText: CUSTOMER }).click();
    await thread().getByText('Hi, where is order 1042?').waitFor();
    await page.getByLabel('Phone').selectOption({ label: 'All phones' });
    await expect.poll(() => rows().count()).toBe(20);
    expect(new URL(page.url()).searchParams.get('phone')).toBeNull();
    // The open conversation stays open, and its row current once it is loaded.
    await thread().getByText('Hi, where is order 1042?').waitFor();
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('That is every conversation.').waitFor();
    await expect.poll(() => current().count()).toBe(1);
    expect(await current().textContent()).toContain('via +14155550100 · Main line');
  });

  step('a phone-less conversation opens its own texts, its row current', async () => {
    await page.goto('/app/messages');
    await page.getByRole('button', { name: 'Load more' }).click();
    const customer = rows().filter({ hasText: CUSTOMER });
    await expect.poll(() => customer.count()).toBe(2);
    const phoneless = customer.filter({ hasNotText: 'via ' });
    expect(await phoneless.textContent()).toContain('Sent to your old number');
    await phoneless.click();
    await thread().getByText('Sent to your old number').waitFor();
    // Only its own text: none of the main line's conversation with the same number.
    expect(await thread().getByRole('listitem').count()).toBe(1);
    await expect.poll(() => current().count()).toBe(1);
    expect(await current().textContent()).toContain('Sent to your old number');
    expect(await checkPage(page, { title: 'Messages', sidebar: true })).toEqual([]);

    // Its neighbour with a phone opens the phone's texts, and becomes the current row.
    await customer.filter({ hasText: 'via +14155550100 · Main line' }).click();
    await thread().getByText('Hi, where is order 1042?').waitFor();
    expect(await thread().getByText('Sent to your old number').count()).toBe(0);
    await expect.poll(() => current().count()).toBe(1);
    expect(await current().textContent()).toContain('via +14155550100 · Main line');
  });
});
