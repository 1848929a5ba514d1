// Open redirect after log-in: /login?next=… must never take the browser off the server's origin.
// The URL parser drops tabs and newlines and reads `\` as `/`, so `/\t/evil.example` is
// `//evil.example` by the time the browser navigates; every spelling here must land on the
// dashboard home instead, and a legitimate path (with its query) must still be honoured.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { registerUser } from '../../src/test/auth-helpers.ts';
import { story } from './support/story.ts';

const s = story('login-redirect');

// The query string exactly as an attacker would write it into a link. Each ends in a path: the
// server answers a URL whose end looks like a file name (…evil.example) with a 404, which would
// hide the page's behaviour rather than test it.
const HOSTILE: Record<string, string> = {
  tab: 'next=/%09/evil.example/landing',
  CR: 'next=/%0D/evil.example/landing',
  LF: 'next=/%0A/evil.example/landing',
  'tab, CR and LF together': 'next=/%09%0D%0A/evil.example/landing',
  'backslash after slash (/\\evil.example)': 'next=/%5Cevil.example/landing',
  'two backslashes (\\\\evil.example)': 'next=%5C%5Cevil.example/landing',
  'slash and backslash around a tab': 'next=%5C%09%5Cevil.example/landing',
  'scheme-relative (//evil.example)': 'next=//evil.example/landing',
  'absolute (https://evil.example)': 'next=https://evil.example/landing',
  'scheme without slashes (https:evil.example)': 'next=https:evil.example/landing',
  'a leading space ( //evil.example)': 'next=%20//evil.example/landing',
  'encoded slashes (%2F%2Fevil.example)': 'next=%2F%2Fevil.example/landing',
  // Decoded once, `%2F%2Fevil.example/landing`: not a path (no leading slash), so not followed.
  'double-encoded slashes': 'next=%252F%252Fevil.example/landing',
  'dot segments to //': 'next=/.//evil.example/landing',
  'javascript: URL': 'next=javascript:alert(document.domain)',
  'encoded javascript: URL': 'next=javascript%3Aalert%28document.domain%29',
};

// Encoded once more, these are plain paths of this origin once the query is decoded: honoured,
// and harmless.
const ENCODED_PATHS: Record<string, [query: string, lands: string]> = {
  'encoded backslash (/%5Cevil.example)': [
    'next=/%255Cevil.example/landing',
    '/%5Cevil.example/landing',
  ],
  'double-encoded tab': ['next=/%2509/evil.example/landing', '/%09/evil.example/landing'],
};

/** Everything the page tried to reach outside our origin, and every dialog it opened. */
function watch(page: Page, origin: string) {
  const escapes: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) escapes.push(url);
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame() && !f.url().startsWith(`${origin}/`)) escapes.push(f.url());
  });
  page.on('dialog', (d) => {
    escapes.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return escapes;
}

async function logInWith(page: Page, query: string, email: string, password: string) {
  await page.goto(`/login?${query}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

describe('the post-login destination stays on this origin', () => {
  let email = '';
  let password = '';

  s.step('an account to log in with', async () => {
    const r = await registerUser(s.server.t.app, { full_name: 'Grace Hopper' });
    email = r.email;
    password = r.password;
  });

  const cases = [
    ...Object.entries(HOSTILE).map(([label, query]) => [label, query, '/app'] as const),
    ...Object.entries(ENCODED_PATHS).map(
      ([label, [query, lands]]) => [label, query, lands] as const,
    ),
  ];
  for (const [label, query, lands] of cases) {
    s.step(`next with ${label} stays on this origin (${lands})`, async () => {
      const { context, page } = await s.device();
      const origin = s.server.baseUrl;
      const escapes = watch(page, origin);
      // Nothing may leave; a request to evil.example would fail anyway, which would hide it.
      await context.route(
        (url) => url.hostname.endsWith('evil.example'),
        (route) => route.abort(),
      );
      await logInWith(page, query, email, password);
      await page.waitForURL((url) => url.pathname !== '/login');
      if (lands === '/app') await page.getByRole('heading', { name: 'Welcome, Grace' }).waitFor();
      // Let any late navigation the page might schedule happen before judging.
      await page.waitForTimeout(300);
      expect(escapes).toEqual([]);
      expect(new URL(page.url()).origin).toBe(origin);
      expect(new URL(page.url()).pathname).toBe(lands);
      await context.close();
    });
  }

  s.step('a legitimate next with a query is honoured', async () => {
    const { context, page } = await s.device();
    const origin = s.server.baseUrl;
    const escapes = watch(page, origin);
    await logInWith(page, `next=${encodeURIComponent('/app/calls?x=1')}`, email, password);
    await page.getByRole('heading', { name: 'Calls', exact: true }).waitFor();
    expect(page.url()).toBe(`${origin}/app/calls?x=1`);

    await context.clearCookies();
    await logInWith(page, 'next=/calls?x=1', email, password);
    await page.waitForURL(`${origin}/calls?x=1`);
    expect(escapes).toEqual([]);
    await context.close();
  });
});
