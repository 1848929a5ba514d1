// A browser story: one server and one Chromium per test file, steps that run in order and share
// state, and a screenshot of the page in focus when a step fails.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it, type TestContext } from 'vitest';
import {
  launchChromium,
  newDevice,
  pageProblems,
  type Server,
  screenshot,
  startServer,
} from './browser.ts';

// Generous: the whole suite runs in parallel on small CI machines.
const STEP_TIMEOUT = 60_000;

export interface Story {
  /** The running server (set once beforeAll has run). */
  readonly server: Server;
  readonly browser: Browser;
  /**
   * One step; `focus` the page it works on so a failure saves the right screenshot. `timeoutMs`
   * for the long ones (a walk over every page).
   */
  step(name: string, fn: () => Promise<void>, timeoutMs?: number): void;
  focus(page: Page): Page;
  /** A new isolated browser profile (own cookies): another person or device. */
  device(options?: {
    viewport?: { width: number; height: number };
  }): Promise<{ context: BrowserContext; page: Page }>;
}

export function story(prefix: string, env: Record<string, string> = {}): Story {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let current: Page | undefined;

  beforeAll(async () => {
    server = await startServer(env);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const s: Story = {
    get server() {
      if (!server) throw new Error('server not started');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('browser not started');
      return browser;
    },
    focus(page) {
      current = page;
      return page;
    },
    step(name, fn, timeoutMs = STEP_TIMEOUT) {
      it(
        name,
        async (ctx: TestContext) => {
          ctx.onTestFailed(async () => {
            const file = await screenshot(current, `${prefix}-${name}`);
            if (file) console.error(`screenshot of the failed step: ${file}`);
          });
          await fn();
          // An uncaught error or a CSP violation in the page fails the step.
          if (current) expect(pageProblems(current)).toEqual([]);
        },
        timeoutMs,
      );
    },
    async device(options = {}) {
      const d = await newDevice(s.browser, s.server.baseUrl, options);
      current = d.page;
      return d;
    },
  };
  return s;
}

/** Follow a link of the dashboard's navigation (pages also link to each other). */
export function navTo(page: Page, name: string): Promise<void> {
  return page
    .getByRole('navigation', { name: 'Dashboard' })
    .getByRole('link', { name, exact: true })
    .click();
}

/** Close the notifications, like a user would when one covers a button. */
export async function dismissToasts(page: Page): Promise<void> {
  const buttons = page.getByRole('button', { name: 'Dismiss notification' });
  while ((await buttons.count()) > 0) await buttons.first().click();
}

/** Log in through the form (no MFA). */
export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /^Welcome/ }).waitFor();
}

/**
 * Every visible form control has an accessible name (a <label>, aria-label or aria-labelledby):
 * what assistive technology — and these tests — find controls by.
 */
export async function expectLabelledControls(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && el.getClientRects().length > 0)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML.slice(0, 120))`);
  expect(unlabelled, `unlabelled controls on ${page.url()}`).toEqual([]);
}
