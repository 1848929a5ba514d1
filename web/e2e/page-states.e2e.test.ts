// Page states and filters of the dashboard, in Chromium against a started server:
// - the skip link moves the keyboard focus to the page's main region (and Tab goes on from there);
// - organization settings that fail to load keep the page's one h1 and its title;
// - every day-range filter (calls, conversations, voice sessions, analytics) refuses a To date
//   before its From date, at the From field (which takes the focus), and leaves the list as it was;
// - the analytics default window ("the last 30 days") follows the calendar: a page left open
//   over midnight asks for the new day;
// - the first read of the session (GET /auth/me): one that keeps failing for a passing reason says
//   Switchboard cannot be reached (not the login form), with "Try again" back to the page and a
//   way to the login form anyway; the server's 401 shows the login form at once, unless the
//   renewal before it could not reach the server (then the access cookie may only have expired).
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { registerUser } from '../../src/test/auth-helpers.ts';
import { checkPage, settled, waitForExpression } from './support/audit.ts';
import { logIn, story } from './support/story.ts';

const PASSWORD = 'quartz heron marble lantern 58';
const s = story('page-states');
/** Answers standing in for the server: out of service, and its refusal of the session. */
const DOWN = { status: 503, contentType: 'text/plain', body: 'down' };
const UNAUTHENTICATED = {
  status: 401,
  contentType: 'application/problem+json',
  body: JSON.stringify({
    type: 'about:blank',
    title: 'Unauthenticated',
    status: 401,
    code: 'unauthenticated',
  }),
};
const step = s.step;

/** yyyy-mm-dd of `d` in the local time zone (the browser's: both run on this machine). */
function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The id of the focused element, or BODY when nothing is focused. */
const FOCUSED_ID = `(document.activeElement && document.activeElement !== document.body
  ? document.activeElement.id || document.activeElement.tagName : 'BODY')`;

describe('page states and filters', () => {
  let page: Page;
  let owner: Awaited<ReturnType<typeof registerUser>>;

  step('an owner logs in', async () => {
    const u = await registerUser(s.server.t.app, {
      email: `states-${Date.now()}@page-states-e2e.test`,
      password: PASSWORD,
      full_name: 'Katherine Johnson',
    });
    owner = u;
    page = (await s.device()).page;
    await logIn(page, u.email, PASSWORD);
  });

  step('the skip link moves the focus to the main region', async () => {
    s.focus(page);
    await page.goto('/app');
    await page.getByRole('heading', { level: 1, name: /^Welcome/ }).waitFor();
    await page.keyboard.press('Tab');
    await waitForExpression(
      page,
      `document.activeElement && document.activeElement.textContent === 'Skip to content'`,
      'focused on the skip link',
    );
    await page.keyboard.press('Enter');
    await waitForExpression(page, `${FOCUSED_ID} === 'main'`, 'focused on the main region');
    // Tab goes on inside the page, past the navigation.
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate(
        `document.getElementById('main').contains(document.activeElement) && ${FOCUSED_ID} !== 'main'`,
      ),
    ).toBe(true);
  });

  step('organization settings that fail to load keep one h1 and their title', async () => {
    s.focus(page);
    await page.route('**/api/orgs/current', (route) =>
      route.request().method() === 'GET'
        ? route.fulfill({ status: 500, contentType: 'text/plain', body: 'down' })
        : route.fallback(),
    );
    try {
      await page.goto('/app/org/settings');
      await page.getByRole('alert').filter({ hasText: 'The server had a problem' }).waitFor();
      expect(await page.locator('h1').allTextContents()).toEqual(['Organization settings']);
      expect(await checkPage(page, { title: 'Organization settings' })).toEqual([]);
    } finally {
      await page.unroute('**/api/orgs/current');
    }
  });

  for (const { path, from, to, apply } of [
    { path: '/app/calls', from: 'From date', to: 'To date', apply: 'Apply filters' },
    { path: '/app/conversations', from: 'From date', to: 'To date', apply: 'Apply filters' },
    { path: '/app/voice-sessions', from: 'From date', to: 'To date', apply: 'Apply filters' },
    { path: '/app/analytics', from: 'From', to: 'To', apply: 'Apply' },
  ]) {
    step(`${path}: a To date before the From date is refused at the From field`, async () => {
      s.focus(page);
      await page.goto(path);
      await settled(page);
      const fromField = page.getByLabel(from, { exact: true });
      const toField = page.getByLabel(to, { exact: true });
      await fromField.fill('2026-03-10');
      await toField.fill('2026-03-01');
      const requests: string[] = [];
      const seen = (r: { url(): string }) => {
        if (r.url().includes('/api/')) requests.push(r.url());
      };
      page.on('request', seen);
      await page.getByRole('button', { name: apply, exact: true }).click();
      // The refusal is said next to the From field, which takes the focus.
      const error = page.getByText('Must not be after the To date.', { exact: true });
      await error.waitFor();
      expect(await fromField.getAttribute('aria-invalid')).toBe('true');
      expect((await fromField.getAttribute('aria-describedby'))?.split(' ')).toContain(
        await error.getAttribute('id'),
      );
      const id = await fromField.getAttribute('id');
      await waitForExpression(page, `${FOCUSED_ID} === ${JSON.stringify(id)}`, 'focused on From');
      page.off('request', seen);
      // Nothing was asked of the server; the list is as it was (unfiltered: no "Clear").
      expect(requests).toEqual([]);
      expect(await page.getByText(/match these filters|Could not load/).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Clear' }).count()).toBe(0);
      // A range that ends where it starts is one day: applied, and the error goes.
      await toField.fill('2026-03-10');
      await page.getByRole('button', { name: apply, exact: true }).click();
      await expect.poll(() => error.count()).toBe(0);
      await settled(page);
      expect(await page.getByText(/Could not load/).count()).toBe(0);
    });
  }

  step('the analytics default window follows the calendar over midnight', async () => {
    s.focus(page);
    const now = new Date();
    const lateEvening = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 23, 59, 0);
    const nextMorning = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 1, 0);
    // Date in the page reads this time; its timers keep running as they do.
    await page.clock.setFixedTime(lateEvening);
    await page.goto('/app/analytics');
    await page.getByText('No calls in this range').waitFor();
    const toField = page.getByLabel('To', { exact: true });
    expect(await toField.inputValue()).toBe(localDay(lateEvening));

    // The page stays open past midnight; Apply asks for the window ending on the new day.
    await page.clock.setFixedTime(nextMorning);
    const asked = page.waitForRequest((r) => r.url().includes('/api/analytics/calls-by-date'));
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    const url = new URL((await asked).url());
    expect(url.searchParams.get('to')).toBe(localDay(nextMorning));
    await expect.poll(() => toField.inputValue()).toBe(localDay(nextMorning));
  });

  step('a re-read of the session that fails for a passing reason keeps the person in', async () => {
    s.focus(page);
    await page.goto('/app/org/settings');
    const name = page.getByLabel('Organization name');
    await name.waitFor();
    // Every re-read of /auth/me answers 503 from here: saving re-reads it.
    await page.route('**/auth/me', (route) => route.fulfill(DOWN));
    try {
      await name.fill('States Org');
      const reread = page.waitForResponse((r) => r.url().endsWith('/auth/me'));
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Organization settings saved.').waitFor();
      expect((await reread).status()).toBe(503);
      // Still on the page, logged in: not sent to the login form.
      await settled(page);
      expect(new URL(page.url()).pathname).toBe('/app/org/settings');
      expect(await page.getByRole('heading', { name: 'Log in to Switchboard' }).count()).toBe(0);
    } finally {
      await page.unroute('**/auth/me');
    }
  });

  step('a first read of the session that fails for a passing reason is tried again', async () => {
    s.focus(page);
    let reads = 0;
    await page.route('**/auth/me', async (route) => {
      reads++;
      if (reads === 1) await route.fulfill(DOWN);
      else await route.fallback();
    });
    try {
      await page.goto('/app');
      // Not the login form: the second read finds the session.
      await page.getByRole('heading', { level: 1, name: /^Welcome/ }).waitFor();
      expect(reads).toBe(2);
    } finally {
      await page.unroute('**/auth/me');
    }
  });

  step(
    'a first read of the session that keeps failing says Switchboard cannot be reached',
    async () => {
      s.focus(page);
      let down = true;
      let reads = 0;
      await page.route('**/auth/me', async (route) => {
        reads++;
        if (down) await route.fulfill(DOWN);
        else await route.fallback();
      });
      try {
        await page.goto('/app/org/settings');
        // After the first read and its three tries again: the state says so, not the login form.
        const heading = page.getByRole('heading', {
          level: 1,
          name: 'Switchboard cannot be reached right now',
        });
        await heading.waitFor();
        expect(reads).toBe(4);
        await page.getByRole('alert').filter({ hasText: 'Your session was not ended' }).waitFor();
        expect(await page.getByRole('heading', { name: 'Log in to Switchboard' }).count()).toBe(0);
        expect(new URL(page.url()).pathname).toBe('/app/org/settings');
        expect(await checkPage(page, { title: 'Switchboard cannot be reached' })).toEqual([]);

        // Tried again while still down: the state stays, the alert says so, and the keyboard
        // focus stays on the button.
        const tryAgain = page.getByRole('button', { name: 'Try again' });
        await tryAgain.click();
        await page.getByRole('alert').filter({ hasText: 'Still out of reach' }).waitFor();
        expect(reads).toBe(5);
        await heading.waitFor();
        expect(
          await page.evaluate(
            `!!document.activeElement && document.activeElement.textContent === 'Try again'`,
          ),
        ).toBe(true);

        // Back up: "Try again" shows the page the person was on, logged in, under its own title.
        down = false;
        await tryAgain.click();
        await page.getByLabel('Organization name').waitFor();
        expect(reads).toBe(6);
        expect(new URL(page.url()).pathname).toBe('/app/org/settings');
        expect(await page.locator('h1').allTextContents()).toEqual(['Organization settings']);
        expect(await page.title()).toBe('Organization settings · Switchboard');
      } finally {
        await page.unroute('**/auth/me');
      }
    },
  );

  step(
    'a 401 after a renewal that could not reach Switchboard is not taken for a session ended',
    async () => {
      s.focus(page);
      // The access cookie expired while Switchboard was out of reach: /auth/me says 401, but the
      // refresh token may well be alive; only the renewal's own 401/403 would say it is not.
      let down = true;
      let renewals = 0;
      await page.route('**/api/auth/refresh', async (route) => {
        renewals++;
        if (down) await route.fulfill(DOWN);
        else await route.fallback();
      });
      await page.route('**/auth/me', async (route) => {
        if (down) {
          await route.fulfill(UNAUTHENTICATED);
        } else await route.fallback();
      });
      try {
        await page.goto('/app/calls');
        await page
          .getByRole('heading', { level: 1, name: 'Switchboard cannot be reached right now' })
          .waitFor();
        // Renewed again before each try again of the read.
        expect(renewals).toBe(4);
        expect(await page.getByRole('heading', { name: 'Log in to Switchboard' }).count()).toBe(0);
        expect(new URL(page.url()).pathname).toBe('/app/calls');

        down = false;
        await page.getByRole('button', { name: 'Try again' }).click();
        await page.getByRole('heading', { level: 1, name: 'Calls' }).waitFor();
        expect(new URL(page.url()).pathname).toBe('/app/calls');
      } finally {
        await page.unroute('**/api/auth/refresh');
        await page.unroute('**/auth/me');
      }
    },
  );

  step('a request whose renewal cannot reach Switchboard keeps the person in', async () => {
    s.focus(page);
    // The access token ran out while Switchboard is out of reach: the list answers 401 and the
    // renewal 503. The session is alive: the page says so, in this tab and in every other.
    let renewals = 0;
    const list = (u: URL) => u.pathname === '/api/calls';
    await page.route('**/api/auth/refresh', async (route) => {
      renewals++;
      await route.fulfill(DOWN);
    });
    await page.route(list, (route) => route.fulfill(UNAUTHENTICATED));
    try {
      await page.goto('/app/calls');
      await page.getByRole('alert').filter({ hasText: 'your session was not ended' }).waitFor();
      // The page load's renewal, then the one the list's 401 asked for.
      expect(renewals).toBeGreaterThanOrEqual(2);
      expect(await page.getByRole('heading', { name: 'Log in to Switchboard' }).count()).toBe(0);
      expect(new URL(page.url()).pathname).toBe('/app/calls');
    } finally {
      await page.unroute('**/api/auth/refresh');
      await page.unroute(list);
    }
  });

  step('a session that cannot be read still leads to the login form when asked', async () => {
    s.focus(page);
    await page.route('**/auth/me', (route) => route.fulfill(DOWN));
    try {
      await page.goto('/app/calls');
      await page.getByRole('button', { name: 'Go to the login form' }).click();
      await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
      const url = new URL(page.url());
      expect(url.pathname).toBe('/login');
      expect(url.searchParams.get('next')).toBe('/app/calls');
      expect(await page.title()).toBe('Log in · Switchboard');
    } finally {
      await page.unroute('**/auth/me');
    }
  });

  step(
    'on a public page, a session that cannot be read can be left for the page, logged out',
    async () => {
      s.focus(page);
      await page.route('**/auth/me', (route) => route.fulfill(DOWN));
      try {
        await page.goto('/forgot-password');
        await page
          .getByRole('heading', { level: 1, name: 'Switchboard cannot be reached right now' })
          .waitFor();
        // Not the page as if no one were logged in, until the person asks for it.
        expect(await page.getByLabel('Email').count()).toBe(0);
        await page.getByRole('button', { name: 'Continue logged out' }).click();
        await page.getByRole('heading', { level: 1, name: 'Reset your password' }).waitFor();
        await page.getByLabel('Email').waitFor();
        expect(new URL(page.url()).pathname).toBe('/forgot-password');
        expect(await page.title()).toBe('Forgot password · Switchboard');
      } finally {
        await page.unroute('**/auth/me');
      }
    },
  );

  step(
    'a first read of the session that the server refuses shows the login form at once',
    async () => {
      s.focus(page);
      let reads = 0;
      await page.route('**/auth/me', async (route) => {
        reads++;
        await route.fulfill(UNAUTHENTICATED);
      });
      try {
        await page.goto('/app/calls');
        await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
        // Not tried again, and no "cannot be reached" state on the way.
        expect(reads).toBe(1);
        expect(new URL(page.url()).pathname).toBe('/login');
      } finally {
        await page.unroute('**/auth/me');
      }
    },
  );

  step("the analytics agent filter offers every agent, past the API's largest page", async () => {
    s.focus(page);
    const api = (method: string, url: string, payload?: unknown) =>
      s.server.t.app.inject({
        method: method as 'POST',
        url,
        headers: { authorization: `Bearer ${owner.access}` },
        payload: payload as Record<string, unknown>,
      });
    const phone = await api('POST', '/api/phones', { number: '+14155550142', label: 'Sales' });
    expect(phone.statusCode).toBe(201);
    // 101 agents: one more than a page of the agents list can hold.
    for (let i = 1; i <= 101; i++) {
      const agent = await api('POST', '/api/agents', {
        name: `Outbound ${String(i).padStart(3, '0')}`,
        direction: 'outgoing',
        phone_id: phone.json().id,
      });
      expect(agent.statusCode).toBe(201);
    }
    await page.goto('/app/analytics');
    const filter = page.getByLabel('Agent', { exact: true });
    // The oldest agent is on the second page (the list is newest first).
    await expect.poll(() => filter.locator('option').allTextContents()).toContain('Outbound 001');
    expect(await filter.locator('option').count()).toBe(102);
  });
});
