// Checks every page must pass, in the browser: its own document title, no sideways scrolling of
// the page (wide tables and long threads scroll inside a focusable, named region), the sidebar's Log out
// within the window, and no serious or critical axe-core violation. axe-core's source is evaluated
// in the page through the DevTools protocol (page.evaluate), so the app's Content-Security-Policy
// stays exactly as served: an injected <script> would be refused by it, and must be.
// (Page-side code is passed as strings: this folder is compiled without the DOM library.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

export const PHONE = { width: 390, height: 844 };

/** The pages anyone can open, with the title each must have (before " · Switchboard"). */
export const PUBLIC_PAGES: { path: string; title: string }[] = [
  { path: '/', title: 'Voice-AI control plane' },
  { path: '/login', title: 'Log in' },
  { path: '/register', title: 'Sign up' },
  { path: '/forgot-password', title: 'Forgot password' },
  { path: '/reset-password?token=demo', title: 'Choose a new password' },
  // An unknown token: the page says the link is not valid.
  { path: '/verify-email?token=demo', title: 'This verification link is not valid' },
  { path: '/accept-invite?token=demo', title: 'Accept invitation' },
];

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** Every link of the dashboard's navigation (as the logged-in user sees it), in order. */
export async function collectNavigation(page: Page): Promise<{ path: string; label: string }[]> {
  const nav = page.getByRole('navigation', { name: 'Dashboard' });
  await nav.waitFor();
  return (await page.evaluate(`[...document.querySelector('nav[aria-label="Dashboard"]')
    .querySelectorAll('a[href]')].map((a) => ({
    path: new URL(a.href).pathname,
    label: a.textContent.trim(),
  }))`)) as { path: string; label: string }[];
}

/**
 * Waits until `expression` is truthy in the page, polled from here every 50 ms: the page's CSP
 * (rightly) forbids the string evaluation page.waitForFunction polls with, which fails as soon
 * as its first check comes out false.
 */
export async function waitForExpression(
  page: Page,
  expression: string,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > until) throw new Error(`${page.url()}: still not ${what}`);
    await page.waitForTimeout(50);
  }
}

/** Waits until the page has its heading and nothing is loading any more. */
export async function settled(page: Page): Promise<void> {
  await page.locator('h1').first().waitFor();
  await waitForExpression(
    page,
    `![...document.querySelectorAll('[role=status]')]
      .some((el) => /loading/i.test(el.textContent || ''))`,
    'done loading',
  );
  // Fonts and layout of what just arrived.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  // Colour transitions to their end: a button enabled as its data arrives fades from its disabled
  // colour for 150 ms, and axe reading it half way measures a colour no one keeps on screen
  // (infinite animations, e.g. spinners, are not transitions and are not waited for).
  await page.evaluate(`Promise.all(document.getAnimations()
    .filter((a) => a instanceof CSSTransition)
    .map((a) => a.finished.catch(() => {})))`);
}

/**
 * The problems of the page on screen (none: []). `title` is the page's own name, which the
 * document title must contain before " · Switchboard"; `sidebar` checks the wide-screen sidebar.
 */
export async function checkPage(
  page: Page,
  { title, sidebar = false }: { title: string; sidebar?: boolean },
): Promise<string[]> {
  await settled(page);
  const problems: string[] = [];

  const docTitle = await page.title();
  const m = /^(.+) · Switchboard$/.exec(docTitle);
  if (!m || !m[1]!.toLowerCase().includes(title.toLowerCase())) {
    problems.push(`document title "${docTitle}" is not "… ${title} … · Switchboard"`);
  }

  problems.push(...(await sidewaysOverflow(page)));
  problems.push(...(await unnamedScrollRegions(page)));
  if (sidebar) problems.push(...(await sidebarReach(page)));
  problems.push(...(await axeViolations(page)));
  return problems;
}

/** The page must not scroll sideways; names the elements that stick out when it does. */
export async function sidewaysOverflow(page: Page): Promise<string[]> {
  const r = (await page.evaluate(`(() => {
    const doc = document.scrollingElement;
    const width = window.innerWidth;
    if (doc.scrollWidth <= width) return null;
    const describe = (el) => el.tagName.toLowerCase() +
      (el.id ? '#' + el.id : '') +
      (el.getAttribute('aria-label') ? '[aria-label="' + el.getAttribute('aria-label') + '"]' : '') +
      (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).slice(0, 4).join('.') : '');
    // The outermost elements that stick out (their descendants would repeat them).
    const out = [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > width + 0.5);
    const outermost = out.filter((el) => !out.includes(el.parentElement));
    return { scrollWidth: doc.scrollWidth, width, culprits: outermost.slice(0, 5).map(describe) };
  })()`)) as { scrollWidth: number; width: number; culprits: string[] } | null;
  if (!r) return [];
  return [`page is ${r.scrollWidth}px wide in a ${r.width}px window: ${r.culprits.join(', ')}`];
}

/**
 * An element that scrolls sideways (a wide table) is a keyboard-focusable region with an accessible
 * name; so is one that scrolls down (a long message thread), unless it holds something to tab to
 * (the sidebar's links): the arrow keys scroll the box around the focused element.
 */
export async function unnamedScrollRegions(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const scrolls = (overflow) => overflow === 'auto' || overflow === 'scroll';
    const tabbable = 'a[href], button:not(:disabled), input:not(:disabled):not([type=hidden]), ' +
      'select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex="-1"])';
    const namedRegion = (el) => el.tabIndex >= 0 &&
      !!(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) &&
      !!(el.getAttribute('role') || el.tagName === 'SECTION');
    return [...document.body.querySelectorAll('*')]
      .filter((el) => {
        const s = getComputedStyle(el);
        const sideways = scrolls(s.overflowX) && el.scrollWidth > el.clientWidth + 1;
        const down = scrolls(s.overflowY) && el.scrollHeight > el.clientHeight + 1;
        if (namedRegion(el)) return false;
        return sideways || (down && (el.tabIndex >= 0 || !el.querySelector(tabbable)));
      })
      .map((el) => 'scrolling element without tabindex, role and name: ' + el.outerHTML.slice(0, 120));
  })()`)) as string[];
}

/** On a wide screen, Log out is within the window at the top and at the bottom of the page. */
export async function sidebarReach(page: Page): Promise<string[]> {
  const logOut = page.getByRole('complementary').getByRole('button', { name: 'Log out' });
  const problems: string[] = [];
  for (const where of ['top', 'bottom'] as const) {
    await page.evaluate(
      where === 'top' ? 'window.scrollTo(0, 0)' : 'window.scrollTo(0, document.body.scrollHeight)',
    );
    await page.evaluate('new Promise((r) => requestAnimationFrame(r))');
    const box = await logOut.boundingBox();
    const viewport = page.viewportSize();
    if (!box || !viewport || box.y < 0 || box.y + box.height > viewport.height) {
      problems.push(
        `Log out is outside the window at the ${where} of the page (${JSON.stringify(box)})`,
      );
    }
  }
  await page.evaluate('window.scrollTo(0, 0)');
  return problems;
}

interface AxeResult {
  violations: {
    id: string;
    impact: string | null;
    help: string;
    nodes: { target: string[]; failureSummary?: string }[];
  }[];
}

/** Serious and critical axe-core findings, one line per rule and element. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) {
    // Evaluated through the DevTools protocol, not as a <script>: the CSP is left as served.
    await page.evaluate(AXE_SOURCE);
  }
  const result = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] })`,
  )) as AxeResult;
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) =>
      v.nodes.map(
        (n) =>
          `axe ${v.id} (${v.impact}): ${v.help} at ${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`,
      ),
    );
}
