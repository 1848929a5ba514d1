// Browser-test support: a real Switchboard listening on 127.0.0.1 (a test database, mails in the
// outbox folder), Debian's Chromium driven by playwright-core, and a screenshot of the page when
// a step fails (test-results/, git-ignored).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureWebBuild } from '../../../scripts/build-web.ts';
import { buildTestApp, type TestApp } from '../../../src/test/app.ts';
import { parseMessage } from '../../../src/test/smtp.ts';

export { launchChromium } from './chromium.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../../../test-results/', import.meta.url));

export interface Server {
  t: TestApp;
  baseUrl: string;
  outboxDir: string;
  close(): Promise<void>;
}

/** Builds web/dist when it is missing or stale, then starts a real server on a free port. */
export async function startServer(env: Record<string, string> = {}): Promise<Server> {
  await ensureWebBuild({ quiet: true });
  const t = await buildTestApp({ env });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  return {
    t,
    baseUrl: `http://127.0.0.1:${port}`,
    outboxDir: join(t.config.dataDir, 'outbox'),
    close: () => t.close(),
  };
}

export interface OutboxMail {
  file: string;
  to: string;
  subject: string;
  text: string;
}

function readOutbox(dir: string): OutboxMail[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((file) => {
      const m = parseMessage(readFileSync(join(dir, file)));
      return { file, to: (m.headers.to ?? '').toLowerCase(), subject: m.subject, text: m.text };
    });
}

/** The first mail in the outbox that matches; polls until timeoutMs. */
export async function waitForMail(
  dir: string,
  predicate: (m: OutboxMail) => boolean,
  timeoutMs = 20_000,
): Promise<OutboxMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = readOutbox(dir).find(predicate);
    if (hit) return hit;
    if (Date.now() > deadline) {
      const seen = readOutbox(dir).map((m) => `${m.to} "${m.subject}"`);
      throw new Error(`no matching mail in ${dir} (have: ${seen.join(', ') || 'none'})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Path and query of the first link in the mail that starts with `path` (e.g. /accept-invite). */
export function linkPath(mail: OutboxMail, path: string): string {
  for (const m of mail.text.matchAll(/https?:\/\/[^\s<>"')]+/g)) {
    const url = new URL(m[0]);
    if (`${url.pathname}${url.search}`.startsWith(path)) return `${url.pathname}${url.search}`;
  }
  throw new Error(`no ${path} link in mail "${mail.subject}"`);
}

/** A fresh, isolated browser profile (cookies of its own): one per person or device. */
export async function newDevice(
  browser: Browser,
  baseUrl: string,
  options: { viewport?: { width: number; height: number }; userAgent?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    userAgent: options.userAgent,
    acceptDownloads: true,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  // A CSP violation or an uncaught error in the page fails loudly instead of silently.
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) {
      problems.push(`CSP: ${msg.text()}`);
    }
  });
  (page as Page & { problems: string[] }).problems = problems;
  return { context, page };
}

export function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/** Save a full-page screenshot into test-results/ (called when a step fails). */
export async function screenshot(page: Page | undefined, name: string): Promise<string | null> {
  if (!page || page.isClosed()) return null;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 100)}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
    return file;
  } catch {
    return null;
  }
}
