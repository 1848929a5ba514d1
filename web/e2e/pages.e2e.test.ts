// Every page of the dashboard, on a laptop (1280×800) and a phone (390×844), with demo data
// (web/e2e/support/demo-data.ts): each page has its own document title, never scrolls sideways
// (tables and a long message thread scroll inside their card, as focusable named regions), keeps
// the sidebar's Log out within reach, and axe-core finds no serious or critical accessibility
// violation — with the app's Content-Security-Policy on.
// "Every page" is read from the app itself: the public pages, then every link of the dashboard's
// navigation as an owner sees it, so a page added to the navigation is checked here too.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { checkPage, collectNavigation, PHONE, PUBLIC_PAGES } from './support/audit.ts';
import {
  DEMO_ENV,
  DEMO_NUMBERS,
  DEMO_OWNER,
  DEMO_PASSWORD,
  seedDemo,
  textIn,
} from './support/demo-data.ts';
import { logIn, story } from './support/story.ts';

const s = story('pages', DEMO_ENV);
const step = s.step;
// A walk over every page (axe-core on each) takes a minute or two on a busy machine.
const WALK_TIMEOUT = 300_000;

describe('every page at both widths', () => {
  let appPages: { path: string; label: string }[] = [];
  let laptop: Page;

  step('seeds the demo company', async () => {
    const { t, baseUrl } = s.server;
    await seedDemo({ base: baseUrl, database: t.database, config: t.config });
  });

  for (const [width, viewport] of [
    ['laptop', { width: 1280, height: 800 }],
    ['phone', PHONE],
  ] as const) {
    step(
      `public pages on a ${width}: titled, no sideways scroll, no serious axe finding`,
      async () => {
        const { page } = await s.device({ viewport });
        const problems: string[] = [];
        const titles = new Map<string, string>();
        for (const { path, title } of PUBLIC_PAGES) {
          await page.goto(path);
          const found = await checkPage(page, { title });
          titles.set(path, await page.title());
          problems.push(...found.map((p) => `${path}: ${p}`));
        }
        expect(problems).toEqual([]);
        expect(new Set(titles.values()).size, JSON.stringify([...titles])).toBe(titles.size);
      },
      WALK_TIMEOUT,
    );
  }

  step(
    'the owner logs in on a laptop and every dashboard page passes',
    async () => {
      const { page } = await s.device({ viewport: { width: 1280, height: 800 } });
      laptop = page;
      await logIn(page, DEMO_OWNER.email, DEMO_PASSWORD);
      appPages = await collectNavigation(page);
      // The navigation an owner sees: at least the pages this suite was written against.
      expect(appPages.map((p) => p.path)).toEqual(
        expect.arrayContaining([
          '/app',
          '/app/analytics',
          '/app/calls',
          '/app/messages',
          '/app/scheduled-calls',
          '/app/org/audit',
          '/app/account',
        ]),
      );
      await checkEvery(page, appPages, { sidebar: true });
    },
    WALK_TIMEOUT,
  );

  step('the overview shows the usage card: each quota, live against its limit', async () => {
    const page = s.focus(laptop);
    await page.goto('/app');
    const card = page.getByRole('region', { name: 'Usage' });
    await card.waitFor();
    await expect.poll(() => card.locator('meter').count()).toBe(4);
    for (const label of [
      'Live calls',
      'Voice sessions',
      'Device streams',
      'Scheduled calls today',
    ]) {
      expect(await card.getByText(label, { exact: true }).count(), label).toBe(1);
    }
    // The owner's own login holds a voice session (its LiveKit token), when LiveKit is set up;
    // every figure is "live / limit".
    expect(await card.getByRole('listitem').first().textContent()).toMatch(/Live calls\d+ \/ \d+/);
  });

  step('the owner lowers a limit on the settings page; the usage card follows', async () => {
    const page = s.focus(laptop);
    await page.goto('/app/org/settings');
    const card = page.getByRole('region', { name: 'Limits' });
    const liveCalls = card.getByLabel('Live calls', { exact: true });
    await liveCalls.waitFor();
    await liveCalls.fill('many');
    await card.getByRole('button', { name: 'Save limits' }).click();
    await card.getByText('Enter a whole number, or leave it empty.').waitFor();
    await liveCalls.fill('7');
    await card.getByRole('button', { name: 'Save limits' }).click();
    // The platform keeps 10 lines for callers: inherited under a maximum of 7, it would leave no
    // outbound call. The refusal is shown at the reserve's field, which takes the focus.
    const reserve = card.getByLabel('Kept for incoming calls', { exact: true });
    await card.getByText(/the platform's reserve of 10 is inherited/).waitFor();
    const reserveId = await reserve.getAttribute('id');
    expect(reserveId).toBeTruthy();
    await expect
      .poll(() => page.evaluate('document.activeElement && document.activeElement.id'))
      .toBe(reserveId);
    await reserve.fill('2');
    await card.getByRole('button', { name: 'Save limits' }).click();
    const inEffect = card.getByText(/lines are busy\. In effect: 7\./);
    await inEffect.waitFor();
    await page.goto('/app');
    const usage = page.getByRole('region', { name: 'Usage' });
    await expect
      .poll(() => usage.getByRole('listitem').first().textContent())
      .toMatch(/Live calls\d+ \/ 7/);
    // Back to the platform's limit.
    await page.goto('/app/org/settings');
    await liveCalls.fill('');
    await reserve.fill('');
    await card.getByRole('button', { name: 'Save limits' }).click();
    await expect.poll(() => inEffect.count()).toBe(0);
  });

  step(
    'analytics: one average duration, the same on the card and in the agents table',
    async () => {
      const page = s.focus(laptop);
      await page.goto('/app/analytics');
      // The demo has a call in progress on the Front desk line: it is left out of both averages.
      await page.getByLabel('Agent', { exact: true }).selectOption({ label: 'Front desk' });
      await page.getByRole('button', { name: 'Apply' }).click();
      const row = page
        .getByRole('table', { name: /^Calls per agent/ })
        .getByRole('row')
        .filter({ hasText: 'Front desk' });
      await expect.poll(() => row.count()).toBe(1);
      await expect
        .poll(() =>
          page
            .getByRole('table', { name: /^Calls per agent/ })
            .getByRole('row')
            .count(),
        )
        .toBe(2);
      const card = (await page.evaluate(`(() => {
      const dt = [...document.querySelectorAll('dt')].find((el) => el.textContent === 'Average duration');
      return [...dt.parentElement.querySelectorAll('dd')].map((dd) => dd.textContent);
    })()`)) as string[];
      const cells = await row.getByRole('cell').allTextContents();
      // Calls, answered, answer rate, average, total.
      expect(cells[3]).toMatch(/\d+ s$/);
      expect(card[0]).toBe(cells[3]);
      // The definition is stated under the figure.
      expect(card[1]).toMatch(/completed calls .*in progress are left out/i);
    },
  );

  step(
    'the owner on a phone: every dashboard page passes, and so does the open menu',
    async () => {
      const { page } = await s.device({ viewport: PHONE });
      await logIn(page, DEMO_OWNER.email, DEMO_PASSWORD);
      await checkEvery(page, appPages, { sidebar: false });
      await page.goto('/app');
      await page.getByRole('button', { name: 'Menu' }).click();
      const menu = page.getByRole('navigation', { name: 'Dashboard' });
      await menu.waitFor();
      expect(await checkPage(page, { title: 'Overview' })).toEqual([]);
      // The menu reaches every page and Log out without sideways scrolling.
      await page.getByRole('button', { name: 'Log out' }).scrollIntoViewIfNeeded();
      expect(await page.getByRole('button', { name: 'Log out' }).isVisible()).toBe(true);
    },
    WALK_TIMEOUT,
  );

  step(
    'a long message thread (30 texts, one page) passes at both widths',
    async () => {
      const { t, baseUrl } = s.server;
      const from = '+14155550190';
      for (let i = 0; i < 30; i++) {
        await textIn(
          { base: baseUrl, config: t.config },
          { from, to: DEMO_NUMBERS.support, body: `Order ${1100 + i}: any news?` },
        );
      }
      for (const viewport of [{ width: 1280, height: 800 }, PHONE]) {
        const { page } = await s.device({ viewport });
        await logIn(page, DEMO_OWNER.email, DEMO_PASSWORD);
        await page.goto(`/app/messages?with=${encodeURIComponent(from)}`);
        await page
          .getByRole('list', { name: `Messages with ${from}` })
          .getByText('Order 1129: any news?', { exact: true })
          .waitFor();
        // The thread scrolls: a focusable region named for it, found by the walk's checks.
        expect(await checkPage(page, { title: 'Messages', sidebar: viewport !== PHONE })).toEqual(
          [],
        );
      }
    },
    WALK_TIMEOUT,
  );

  step('a page that does not exist says so in its title', async () => {
    const { page } = await s.device();
    await page.goto('/no-such-page');
    expect(await checkPage(page, { title: 'Page not found' })).toEqual([]);
  });
});

async function checkEvery(
  page: Page,
  pages: { path: string; label: string }[],
  options: { sidebar: boolean },
): Promise<void> {
  const problems: string[] = [];
  const titles = new Map<string, string>();
  for (const { path, label } of pages) {
    await page.goto(path);
    const found = await checkPage(page, { title: label, sidebar: options.sidebar });
    titles.set(path, await page.title());
    problems.push(...found.map((p) => `${path}: ${p}`));
  }
  expect(problems).toEqual([]);
  expect(new Set(titles.values()).size, JSON.stringify([...titles])).toBe(titles.size);
}
