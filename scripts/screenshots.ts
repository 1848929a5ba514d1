// npm run screenshots — pictures of the dashboard's main pages for the README, taken with the
// browser tests' Chromium setup against a throwaway server (in-memory database, demo data).
// Writes docs/screenshots/*.png.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Page } from 'playwright-core';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { databaseFromPGlite } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { totpCodeAt } from '../src/mfa/totp.ts';
import { parseMessage } from '../src/test/smtp.ts';
import { launchChromium } from '../web/e2e/support/chromium.ts';
import { ensureWebBuild } from './build-web.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const PASSWORD = 'correct horse battery staple 42';

await ensureWebBuild();
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
});
const app = await buildApp(config, { database });
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

// biome-ignore lint/suspicious/noExplicitAny: demo seeding reads a few fields of known answers.
type Answer = any;

async function call(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

// Demo data: a company with people, invitations, keys and prompts.
const owner = await call('POST', '/api/auth/register', null, {
  email: 'ada@acme-voice.example',
  password: PASSWORD,
  full_name: 'Ada Lovelace',
  company_name: 'Acme Voice',
});
const token = owner.access_token as string;
// The owner has verified their address (the link from the welcome mail in the outbox).
const outbox = join(dataDir, 'outbox');
verify: for (let i = 0; i < 50; i++) {
  for (const file of existsSync(outbox) ? readdirSync(outbox) : []) {
    const text = parseMessage(readFileSync(join(outbox, file))).text;
    const link = /\/verify-email\?token=([\w-]+)/.exec(text);
    if (link) {
      await call('POST', '/api/auth/email/verify', null, { token: link[1] });
      break verify;
    }
  }
  await new Promise((r) => setTimeout(r, 100));
}
for (const [email, full_name, role] of [
  ['grace@acme-voice.example', 'Grace Hopper', 'admin'],
  ['alan@acme-voice.example', 'Alan Turing', 'manager'],
  ['katherine@acme-voice.example', 'Katherine Johnson', 'member'],
]) {
  await call('POST', '/api/orgs/current/users', token, {
    email,
    full_name,
    role,
    password: PASSWORD,
  });
}
for (const [email, role] of [
  ['dorothy@acme-voice.example', 'member'],
  ['mary@acme-voice.example', 'manager'],
]) {
  await call('POST', '/api/orgs/current/invitations', token, { email, role });
}
await call('POST', '/api/api-keys', token, {
  name: 'Production agent worker',
  scopes: ['prompts:read', 'agent:context'],
});
const old = await call('POST', '/api/api-keys', token, {
  name: 'Staging',
  scopes: ['prompts:read'],
});
await call('DELETE', `/api/api-keys/${old.id}`, token);
for (const [name, description, content] of [
  [
    'Front desk',
    'Greets callers and routes them',
    'You are the front desk of Acme Voice. Greet the caller, ask how you can help, and route them to sales, support or billing.',
  ],
  [
    'Appointment reminder',
    'Outgoing reminder calls',
    'You call to remind a customer of their appointment. Confirm the date and time; offer to reschedule.',
  ],
  [
    'After-hours support',
    null,
    'The office is closed. Take a message with the caller’s name, number and reason for calling.',
  ],
  [
    'Order status',
    'Answers “where is my order?” by text',
    'Look up the order by its number and tell the customer where it is and when it will arrive.',
  ],
]) {
  await call('POST', '/api/prompts', token, { name, description, content });
}

const browser = await launchChromium();
const shot = async (page: Page, name: string) => {
  for (const b of await page.getByRole('button', { name: 'Dismiss notification' }).all()) {
    await b.click().catch(() => {});
  }
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  console.log(`docs/screenshots/${name}.png`);
};

try {
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

  await page.goto('/login');
  await page.getByLabel('Email').fill('ada@acme-voice.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Welcome, Ada' }).waitFor();
  await shot(page, 'overview');

  await page.goto('/app/prompts');
  await page.getByRole('list', { name: 'Prompts' }).waitFor();
  await shot(page, 'prompts');
  await page.getByRole('button', { name: 'Edit Front desk' }).click();
  await page.getByRole('dialog', { name: 'Edit prompt' }).waitFor();
  await shot(page, 'prompt-editor');
  await page.keyboard.press('Escape');

  await page.goto('/app/org/members');
  await page.getByRole('table', { name: 'Pending invitations' }).waitFor();
  await shot(page, 'members');

  await page.goto('/app/org/api-keys');
  await page.getByRole('table', { name: 'API keys' }).waitFor();
  await shot(page, 'api-keys');

  await page.goto('/app/org/settings');
  await page.getByLabel('Organization name').waitFor();
  await shot(page, 'org-settings');

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

  await page.goto('/app/org/audit');
  await page.getByRole('table', { name: 'Audit log events' }).waitFor();
  await shot(page, 'audit-log');

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

  const phone = await browser.newContext({
    baseURL: base,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
  });
  const mobile = await phone.newPage();
  await mobile.goto('/login');
  await mobile.getByLabel('Email').fill('grace@acme-voice.example');
  await mobile.getByLabel('Password').fill(PASSWORD);
  await mobile.getByRole('button', { name: 'Log in' }).click();
  await mobile.getByRole('heading', { name: 'Welcome, Grace' }).waitFor();
  await mobile.goto('/app/prompts');
  await mobile.getByRole('list', { name: 'Prompts' }).waitFor();
  await shot(mobile, 'phone-prompts');
  await mobile.getByRole('button', { name: 'Menu' }).click();
  await shot(mobile, 'phone-menu');
} finally {
  await browser.close();
  await app.close();
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
}
