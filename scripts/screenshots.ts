// npm run screenshots — pictures of the dashboard's pages for the README, taken with the browser
// tests' Chromium setup against a throwaway server (in-memory database, the demo data of
// web/e2e/support/demo-data.ts), on a laptop (1280×800: docs/screenshots/<page>.png) and on a
// phone (390×844: docs/screenshots/<page>-phone.png).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Page } from 'playwright-core';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { databaseFromPGlite } from '../src/db/pglite.ts';
import { totpCodeAt } from '../src/mfa/totp.ts';
import { launchChromium } from '../web/e2e/support/chromium.ts';
import { DEMO_ENV, DEMO_PASSWORD, seedDemo } from '../web/e2e/support/demo-data.ts';
import { ensureWebBuild } from './build-web.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const PASSWORD = DEMO_PASSWORD;

await ensureWebBuild();
// Pictures of pages that no longer exist (or were renamed) do not linger.
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'sb-shots-'));
const database = databaseFromPGlite(await PGlite.create());
await migrateToLatest(database.db);
const config = loadConfig({
  NODE_ENV: 'test',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  ENCRYPTION_KEYS: `s1:${Buffer.alloc(32, 3).toString('base64')}`,
  SECRET_KEY: 'screenshots-only-secret-0123456789abcdef',
  ARGON2_MEMORY_COST: '1024',
  ARGON2_TIME_COST: '1',
  ...DEMO_ENV,
});
const app = await buildApp(config, { database });
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

await seedDemo({ base, database, config });

const browser = await launchChromium();
const shot = async (page: Page, name: string) => {
  for (const b of await page.getByRole('button', { name: 'Dismiss notification' }).all()) {
    await b.click().catch(() => {});
  }
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  console.log(`docs/screenshots/${name}.png`);
};

/** The dashboard's pages, in the order they are shown, each with what marks it as loaded. */
const PAGES: [name: string, path: string, ready: (page: Page) => Promise<void>][] = [
  ['overview', '/app', (p) => p.getByRole('heading', { name: /^Welcome, / }).waitFor()],
  ['analytics', '/app/analytics', (p) => p.getByRole('img', { name: /^Calls by day,/ }).waitFor()],
  [
    'calls',
    '/app/calls',
    async (p) => {
      await p.getByRole('table', { name: 'Call log' }).waitFor();
      await p.getByRole('table', { name: 'Active calls' }).waitFor();
    },
  ],
  [
    'messages',
    '/app/messages?with=%2B14155550142',
    (p) => p.getByRole('list', { name: 'Messages with +14155550142' }).waitFor(),
  ],
  [
    'conversations',
    '/app/conversations',
    (p) => p.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor(),
  ],
  [
    'voice-sessions',
    '/app/voice-sessions',
    (p) => p.getByRole('heading', { name: 'Voice sessions', level: 1 }).waitFor(),
  ],
  ['phones', '/app/phones', (p) => p.getByRole('table', { name: 'Phone numbers' }).waitFor()],
  ['agents', '/app/agents', (p) => p.getByRole('table', { name: 'Voice agents' }).waitFor()],
  [
    'message-agents',
    '/app/message-agents',
    (p) => p.getByRole('table', { name: 'Messaging agents' }).waitFor(),
  ],
  ['prompts', '/app/prompts', (p) => p.getByRole('list', { name: 'Prompts' }).waitFor()],
  [
    'scheduled-calls',
    '/app/scheduled-calls',
    (p) => p.getByRole('table', { name: 'Scheduled calls' }).waitFor(),
  ],
  [
    'calling-rules',
    '/app/calling-rules',
    (p) => p.getByRole('form', { name: 'Calling window' }).waitFor(),
  ],
  [
    'members',
    '/app/org/members',
    (p) => p.getByRole('table', { name: 'Pending invitations' }).waitFor(),
  ],
  ['api-keys', '/app/org/api-keys', (p) => p.getByRole('table', { name: 'API keys' }).waitFor()],
  [
    'audit-log',
    '/app/org/audit',
    (p) => p.getByRole('table', { name: 'Audit log events' }).waitFor(),
  ],
  ['org-settings', '/app/org/settings', (p) => p.getByLabel('Organization name').waitFor()],
];

async function logIn(page: Page, email: string) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /^Welcome, / }).waitFor();
}

try {
  // On a laptop, as the owner.
  const context = await browser.newContext({
    baseURL: base,
    viewport: { width: 1280, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();

  await page.goto('/');
  await page.getByRole('heading', { level: 1 }).waitFor();
  await shot(page, 'landing');

  await page.goto('/register');
  await page.getByLabel('Company name').fill('Acme Voice');
  await page.getByLabel('Full name').fill('Ada Lovelace');
  await page.getByLabel('Work email').fill('ada@acme-voice.example');
  await page.getByLabel('Password', { exact: true }).fill('correct horse');
  await shot(page, 'register');

  await logIn(page, 'ada@acme-voice.example');
  for (const [name, path, ready] of PAGES) {
    await page.goto(path);
    await ready(page);
    await shot(page, name);
  }

  await page.goto('/app/prompts');
  await page.getByRole('button', { name: 'Edit Front desk' }).click();
  await page.getByRole('dialog', { name: 'Edit prompt' }).waitFor();
  await shot(page, 'prompt-editor');
  await page.keyboard.press('Escape');

  await page.goto('/app/agents');
  await page.getByRole('button', { name: 'Edit Front desk' }).click();
  await page.getByRole('dialog', { name: 'Edit voice agent' }).waitFor();
  await shot(page, 'agent-editor');
  await page.keyboard.press('Escape');

  await page.goto('/app/account');
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('img', { name: /QR code/ }).waitFor();
  await shot(page, 'mfa-setup');
  const secret = await page.getByLabel('Secret key').inputValue();
  await page.getByLabel('Verification code').fill(totpCodeAt(secret, Date.now()));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await page.getByRole('list', { name: 'Backup codes' }).waitFor();
  await shot(page, 'backup-codes');
  await page.getByRole('button', { name: 'I have saved my codes' }).click();
  await page.getByRole('list', { name: 'Sessions' }).waitFor();
  await shot(page, 'security');

  const second = await browser.newContext({
    baseURL: base,
    viewport: { width: 1280, height: 800 },
  });
  const login = await second.newPage();
  await login.goto('/login');
  await login.getByLabel('Email').fill('ada@acme-voice.example');
  await login.getByLabel('Password').fill(PASSWORD);
  await login.getByRole('button', { name: 'Log in' }).click();
  await login.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  await shot(login, 'login-mfa');

  // On a phone, as an admin (Grace): the same pages, then the open menu.
  const phone = await browser.newContext({
    baseURL: base,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
  });
  const mobile = await phone.newPage();
  await mobile.goto('/');
  await mobile.getByRole('heading', { level: 1 }).waitFor();
  await shot(mobile, 'landing-phone');
  await logIn(mobile, 'grace@acme-voice.example');
  for (const [name, path, ready] of PAGES) {
    await mobile.goto(path);
    await ready(mobile);
    await shot(mobile, `${name}-phone`);
  }
  await mobile.goto('/app/account');
  await mobile.getByRole('list', { name: 'Sessions' }).waitFor();
  await shot(mobile, 'security-phone');
  await mobile.getByRole('button', { name: 'Menu' }).click();
  await mobile.getByRole('navigation', { name: 'Dashboard' }).waitFor();
  await shot(mobile, 'menu-phone');
} finally {
  await browser.close();
  await app.close();
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
}
