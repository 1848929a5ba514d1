// The voice pages end to end, in Chromium, against a started server with the platform Twilio
// account configured: sign up → register a phone number (pending until the platform operator
// assigns it) → create an incoming agent, and see the
// 409 for a second active incoming agent on the same phone → a messaging agent, and its 409 →
// schedule a call with an outgoing
// agent (a past time is refused) → calls and messages arrive through signed Twilio webhooks →
// the call log, a call's details, the conversation, and the analytics charts and agent table
// show them → the org's own Twilio credentials are saved write-only. Steps run in order.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { ADMIN_ENV, superuser } from '../../src/test/org-helpers.ts';
import { callParams, smsParams, twilioEnv, twilioPost } from '../../src/test/twilio.ts';
import { dismissToasts, expectLabelledControls, navTo, story } from './support/story.ts';

const s = story('voice', { ...ADMIN_ENV, ...twilioEnv() });
const step = s.step;

const stamp = Date.now();
const owner = { email: `voice-owner-${stamp}@voice-e2e.test`, name: 'Katherine Johnson' };
const PASSWORD = 'amber kestrel harbor violin 58';
// A number unique to this run (one org at a time holds a number verified).
const NUMBER = `+1415${String(stamp % 10_000_000).padStart(7, '0')}`;
const CALLER = '+14155550142';
const CALLEE = '+14155550123';
const ORG_SID = `AC${'ab'.repeat(16)}`;
const AUTO_REPLY = 'Thanks for your message, we will call you back today.';

/** Seeded through the webhooks: [duration or null for unanswered, …]. */
const CALLS: (number | null)[] = [42, 65, 300, null, 18];
const callSids: string[] = [];

describe('voice dashboard', () => {
  let page: Page;

  step('signs up and registers a phone number', async () => {
    ({ page } = await s.device());
    await page.goto('/register');
    await page.getByLabel('Company name').fill('Johnson Voice');
    await page.getByLabel('Full name').fill(owner.name);
    await page.getByLabel('Work email').fill(owner.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Welcome, Katherine' }).waitFor();

    await navTo(page, 'Phone numbers');
    await page.getByRole('heading', { level: 1, name: 'Phone numbers' }).waitFor();
    await page.getByText('No phone numbers yet').waitFor();
    await page.getByRole('button', { name: 'Add phone number' }).first().click();
    const dialog = page.getByRole('dialog');
    await expectLabelledControls(page);
    // A malformed number is refused next to the field, before anything is stored.
    await dialog.getByLabel('Number', { exact: true }).fill('415-555');
    await dialog.getByRole('button', { name: 'Save phone number' }).click();
    await dialog.getByText(/not a number in E\.164 form/).waitFor();
    await dialog.getByLabel('Number', { exact: true }).fill(NUMBER);
    await dialog.getByLabel('Label', { exact: true }).fill('Front line');
    await dialog.getByRole('button', { name: 'Save phone number' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Phone numbers' });
    await table.getByRole('cell', { name: NUMBER, exact: true }).waitFor();
    await table.getByRole('cell', { name: 'Front line', exact: true }).waitFor();
    // Registered is not owned: the number is inert until it is verified, and the page says why.
    const line = table.getByRole('row').filter({ hasText: NUMBER });
    await line.getByText('Pending verification', { exact: true }).waitFor();
    await page.getByText('Some numbers are pending verification').waitFor();
    // On the platform's Twilio account the platform operator assigns numbers; Verify says so.
    await line.getByRole('button', { name: `Verify ${NUMBER}` }).click();
    await page.getByText(/the platform operator assigns its numbers/).waitFor();
    await dismissToasts(page);
    const phones = await (await page.request.get('/api/phones')).json();
    const su = await superuser(s.server.t);
    const assigned = await s.server.t.app.inject({
      method: 'POST',
      url: '/api/admin/phone-assignments',
      headers: su.headers,
      payload: { org_id: phones.items[0].org_id, number: NUMBER },
    });
    expect(assigned.statusCode).toBe(200);
    await page.reload();
    await table
      .getByRole('row')
      .filter({ hasText: NUMBER })
      .getByText('Verified', { exact: true })
      .waitFor();
  });

  step('creates an incoming agent; a second active one on the phone gets the 409', async () => {
    s.focus(page);
    await dismissToasts(page);
    await navTo(page, 'Voice agents');
    await page.getByRole('heading', { level: 1, name: 'Voice agents' }).waitFor();

    async function newAgent(name: string, direction: 'Incoming' | 'Outgoing') {
      await page.getByRole('button', { name: 'New agent' }).click();
      const dialog = page.getByRole('dialog', { name: 'New voice agent' });
      await dialog.getByLabel('Name', { exact: true }).fill(name);
      await dialog.getByLabel('Direction', { exact: true }).selectOption({ label: direction });
      await dialog
        .getByLabel('Phone number', { exact: true })
        .selectOption({ label: `${NUMBER} · Front line` });
      await dialog.getByLabel('Instructions').fill('Answer warmly and book appointments.');
      await dialog.getByLabel('Greeting').fill('Hello, Johnson Voice here.');
      await dialog
        .getByLabel('Media stream URL')
        .fill(`wss://agents.voice-e2e.test/${name.toLowerCase().replace(/\W+/g, '-')}`);
      await dialog.getByRole('button', { name: 'Create agent' }).click();
      return dialog;
    }

    await expectLabelledControls(page);
    await newAgent('Front desk', 'Incoming');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Voice agents' });
    await table.getByRole('cell', { name: 'Front desk', exact: true }).waitFor();

    const second = await newAgent('Night desk', 'Incoming');
    await second
      .getByRole('alert')
      .filter({ hasText: 'This phone already has an active incoming agent' })
      .waitFor();
    // The dialog stays open with what was typed, and nothing was created.
    expect(await second.getByLabel('Name', { exact: true }).inputValue()).toBe('Night desk');
    await second.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await table.getByRole('cell', { name: 'Night desk', exact: true }).count()).toBe(0);

    // Outgoing agents may share the phone.
    await newAgent('Callback', 'Outgoing');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await table.getByRole('cell', { name: 'Callback', exact: true }).waitFor();
  });

  step('creates a messaging agent; a second active one on the phone gets the 409', async () => {
    s.focus(page);
    await dismissToasts(page);
    await navTo(page, 'Messaging agents');
    await page.getByRole('heading', { level: 1, name: 'Messaging agents' }).waitFor();

    async function newMessageAgent(name: string) {
      await page.getByRole('button', { name: 'New messaging agent' }).first().click();
      const dialog = page.getByRole('dialog', { name: 'New messaging agent' });
      await dialog.getByLabel('Name', { exact: true }).fill(name);
      await dialog
        .getByLabel('Phone number', { exact: true })
        .selectOption({ label: `${NUMBER} · Front line` });
      await dialog.getByLabel('Auto-reply text').fill(AUTO_REPLY);
      await dialog.getByRole('button', { name: 'Create messaging agent' }).click();
      return dialog;
    }

    await expectLabelledControls(page);
    await newMessageAgent('Texts');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Messaging agents' });
    await table.getByRole('cell', { name: 'Texts', exact: true }).waitFor();

    const second = await newMessageAgent('More texts');
    await second
      .getByRole('alert')
      .filter({ hasText: 'This phone already has an active messaging agent' })
      .waitFor();
    await second.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await table.getByRole('cell', { name: 'More texts', exact: true }).count()).toBe(0);
  });

  step('schedules a call (a past time is refused)', async () => {
    s.focus(page);
    await dismissToasts(page);
    await navTo(page, 'Scheduled calls');
    await page.getByRole('heading', { level: 1, name: 'Scheduled calls' }).waitFor();
    await page.getByText('No scheduled calls yet').waitFor();
    await page.getByRole('button', { name: 'Schedule a call' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Schedule a call' });
    await expectLabelledControls(page);
    await dialog.getByLabel('Agent', { exact: true }).selectOption({ label: 'Callback' });
    await dialog.getByLabel('To', { exact: true }).fill(CALLEE);
    const when = dialog.getByLabel('When', { exact: true });
    await when.fill('2020-01-01T09:00');
    await dialog.getByRole('button', { name: 'Schedule call' }).click();
    await dialog.getByText(/in the future/).waitFor();

    // Tomorrow at 10:00, in the browser's time zone.
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await when.fill(`${day}T10:00`);
    await dialog.getByRole('button', { name: 'Schedule call' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Scheduled calls' });
    const row = table.getByRole('row').filter({ hasText: CALLEE });
    await row.waitFor();
    await row.getByText('Pending', { exact: true }).waitFor();
    // The agent's name comes with the agents list, which loads on its own.
    await row.getByText('Callback', { exact: true }).waitFor();
  });

  step('shows calls and messages that arrive through signed Twilio webhooks', async () => {
    s.focus(page);
    const app = s.server.t.app;
    for (const [i, duration] of CALLS.entries()) {
      const params = callParams({ From: CALLER, To: NUMBER });
      const answer = await twilioPost(app, '/webhooks/twilio/voice', params);
      expect(answer.statusCode).toBe(200);
      // The incoming call is handed to the active agent's media stream.
      expect(answer.body).toContain('<Stream url="wss://agents.voice-e2e.test/front-desk"');
      const status: Record<string, string> =
        duration === null
          ? { CallStatus: 'no-answer' }
          : { CallStatus: 'completed', CallDuration: String(duration) };
      const done = await twilioPost(app, '/webhooks/twilio/status', {
        ...params,
        ...status,
        SequenceNumber: String(i),
      });
      expect(done.statusCode).toBe(204);
      callSids.push(params.CallSid as string);
    }
    // One call still ringing: the "Active calls" panel shows it.
    const live = callParams({ From: '+14155550177', To: NUMBER });
    expect((await twilioPost(app, '/webhooks/twilio/voice', live)).statusCode).toBe(200);
    const sms = await twilioPost(
      app,
      '/webhooks/twilio/sms',
      smsParams({ From: CALLER, To: NUMBER, Body: 'Can I move my appointment to Friday?' }),
    );
    expect(sms.statusCode).toBe(200);
    // The messaging agent answers with its auto-reply as TwiML.
    expect(sms.body).toContain(`<Message>${AUTO_REPLY}</Message>`);

    await dismissToasts(page);
    await navTo(page, 'Calls');
    await page.getByRole('heading', { level: 1, name: 'Calls' }).waitFor();
    const active = page.getByRole('table', { name: 'Active calls' });
    await active.getByRole('row').filter({ hasText: '+14155550177' }).waitFor();
    const log = page.getByRole('table', { name: 'Call log' });
    await log.getByRole('link', { name: `Details of call ${callSids[2]}` }).click();
    const details = page.getByRole('dialog', { name: 'Call details' });
    await details
      .getByText(callSids[2] as string)
      .first()
      .waitFor();
    // Agent names arrive with their own request: wait for them rather than read the dialog once.
    await details.getByText('Front desk', { exact: true }).waitFor();
    await details.getByText('5 min 00 s', { exact: true }).waitFor();
    expect(new URL(page.url()).searchParams.get('call')).toBe(callSids[2]);
    await details.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    // Filtering the log by status.
    await page.getByLabel('Status', { exact: true }).selectOption({ label: 'No answer' });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await log.getByRole('link', { name: `Details of call ${callSids[3]}` }).waitFor();
    await expect.poll(() => log.getByRole('link', { name: /^Details of call / }).count()).toBe(1);

    await navTo(page, 'Messages');
    await page.getByRole('heading', { level: 1, name: 'Messages' }).waitFor();
    await page.getByRole('list', { name: 'Conversations' }).getByText(CALLER).first().click();
    await page
      .getByRole('list', { name: `Messages with ${CALLER}` })
      .getByText('Can I move my appointment to Friday?')
      .waitFor();
    await page
      .getByRole('list', { name: `Messages with ${CALLER}` })
      .getByText(AUTO_REPLY)
      .waitFor();
  });

  step('charts the calls on the analytics page', async () => {
    s.focus(page);
    await navTo(page, 'Analytics');
    await page.getByRole('heading', { level: 1, name: 'Analytics' }).waitFor();
    const answered = CALLS.filter((d) => d !== null).length;
    // Five finished calls plus the one still ringing.
    const total = CALLS.length + 1;
    const byDay = page.getByRole('img', { name: /^Calls by day,/ });
    await byDay.waitFor();
    expect(await byDay.getAttribute('aria-label')).toMatch(
      new RegExp(`: ${total} calls, ${answered} answered$`),
    );
    const byHour = page.getByRole('img', { name: /^Calls by hour of day,/ });
    expect(await byHour.getAttribute('aria-label')).toMatch(
      new RegExp(`: ${total} calls, ${answered} answered$`),
    );
    // Bars are drawn: one per day/hour with calls, each titled for hover.
    expect(await byDay.locator('rect').count()).toBeGreaterThan(0);

    const totals = page.getByRole('region', { name: 'Totals' });
    const totalsText = (await totals.textContent()) ?? '';
    expect(totalsText).toContain('Total calls');
    expect(totalsText).toContain(String(total));

    const agents = page.getByRole('table', { name: /^Calls per agent/ });
    const row = agents.getByRole('row').filter({ hasText: 'Front desk' });
    await row.waitFor();
    // 6 calls reached the agent, 4 answered, 425 s in all (42 + 65 + 300 + 18).
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells.join(' | ')).toContain('7 min 05 s');
    expect(cells).toContain(String(total));
    expect(cells).toContain(String(answered));
  });

  step('pages long lists with "Load more"', async () => {
    s.focus(page);
    // 25 prompts made through the API with the page's own session (cookies + CSRF header).
    const csrf = (await page.context().cookies()).find((c) => c.name === 'sb_csrf')?.value ?? '';
    for (let i = 0; i < 25; i++) {
      const res = await page.request.post('/api/prompts', {
        headers: { 'x-csrf-token': csrf },
        data: { name: `Prompt ${String(i).padStart(2, '0')}`, content: 'Be brief.' },
      });
      expect(res.status()).toBe(201);
    }
    await navTo(page, 'Prompts');
    const list = page.getByRole('list', { name: 'Prompts' });
    await list.getByText('Prompt 24').waitFor();
    expect(await list.getByRole('listitem').count()).toBe(20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await list.getByText('Prompt 00').waitFor();
    expect(await list.getByRole('listitem').count()).toBe(25);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
  });

  step('saves the org’s own Twilio credentials without ever showing the token', async () => {
    s.focus(page);
    await navTo(page, 'Settings');
    const card = page.getByRole('region', { name: 'Twilio account' });
    await card.getByText("Using the platform's Twilio account").waitFor();
    await expectLabelledControls(page);
    const token = 'e2etoken0123456789abcdef0123456789';
    await card.getByLabel('Account SID').fill(ORG_SID);
    await card.getByLabel('Auth token').fill(token);
    await card.getByRole('button', { name: 'Save credentials' }).click();
    await card.getByText('Using your own Twilio account').waitFor();
    // Write-only: the field is emptied and the token is nowhere on the page.
    expect(await card.getByLabel('Auth token').inputValue()).toBe('');
    expect(await page.content()).not.toContain(token);
    // A reload shows the saved SID, still not the token.
    await page.reload();
    await card.getByText('Using your own Twilio account').waitFor();
    expect(await card.textContent()).toContain(ORG_SID);
    expect(await page.content()).not.toContain(token);
  });
});
