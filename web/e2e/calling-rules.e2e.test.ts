// The Calling rules page end to end, in Chromium: an unknown time zone is refused next to its
// field, a window is saved and the scheduled calls page shows when a pending call will go
// (dispatch_at, in the window); a number added to the do-not-call list cancels the pending call to
// it; a CSV import with a bad line names the line and imports nothing, the fixed file imports;
// a number is removed. Steps run in order.
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { bearer, registerUser } from '../../src/test/auth-helpers.ts';
import { createVerifiedPhone } from '../../src/test/factories.ts';
import { twilioEnv } from '../../src/test/twilio.ts';
import { checkPage, PHONE } from './support/audit.ts';
import { dismissToasts, expectLabelledControls, logIn, navTo, story } from './support/story.ts';

const s = story('calling-rules', twilioEnv());
const step = s.step;
const stamp = Date.now();
const PASSWORD = 'saffron lantern meadow quartz 71';
const email = `calling-rules-${stamp}@calling-rules-e2e.test`;
const num = (n: number) => `+1415${String((stamp + n) % 10_000_000).padStart(7, '0')}`;
const CALLEE = num(11);
const IMPORTED = [num(12), num(13)];

describe('calling rules page', () => {
  let page: Page;
  let headers: Record<string, string>;
  let callId: string;

  step('a pending call exists; the page says there is no window yet', async () => {
    const t = s.server.t;
    const u = await registerUser(t.app, { email, password: PASSWORD, full_name: 'Grace Hopper' });
    headers = bearer(u.access);
    const phone = await createVerifiedPhone(t.app, t.database, headers, { number: num(10) });
    const agent = await t.app.inject({
      method: 'POST',
      url: '/api/agents',
      headers,
      payload: {
        name: 'Reminder',
        direction: 'outgoing',
        phone_id: phone.id,
        greeting: 'Hi',
        media_stream_url: 'wss://agents.example.test/stream',
      },
    });
    expect(agent.statusCode).toBe(201);
    const call = await t.app.inject({
      method: 'POST',
      url: '/api/scheduled-calls',
      headers,
      payload: {
        agent_id: agent.json().id,
        to: CALLEE,
        scheduled_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(call.statusCode).toBe(201);
    callId = call.json().id;

    ({ page } = await s.device());
    await logIn(page, email, PASSWORD);
    await navTo(page, 'Calling rules');
    await page.getByRole('heading', { level: 1, name: 'Calling rules' }).waitFor();
    await page.getByText('No calling window: calls go at any time.').waitFor();
    await page.getByText('No numbers on the list').waitFor();
    await expectLabelledControls(page);
  });

  step('an unknown zone is refused at its field; a window is saved', async () => {
    const form = page.getByRole('form', { name: 'Calling window' });
    await form.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await form.getByRole('button', { name: 'Save window' }).click();
    await form.getByText(/must be an IANA time zone/).waitFor();

    await form.getByLabel('Time zone').fill('Asia/Tokyo');
    for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday']) {
      await form.getByLabel(day, { exact: true }).uncheck();
    }
    await form.getByLabel('Sunday', { exact: true }).check();
    await form.getByLabel('From').fill('10:00');
    await form.getByLabel('Until').fill('11:00');
    await form.getByRole('button', { name: 'Save window' }).click();
    await page
      .getByTestId('calling-window-now')
      .getByText('Sun · 10:00–11:00 (Asia/Tokyo)')
      .waitFor();
  });

  step('the scheduled calls page says when the call will go', async () => {
    const api = await s.server.t.app.inject({ url: `/api/scheduled-calls/${callId}`, headers });
    const { dispatch_at, scheduled_at } = api.json();
    expect(dispatch_at).not.toBe(scheduled_at);
    await dismissToasts(page);
    await navTo(page, 'Scheduled calls');
    const table = page.getByRole('table', { name: 'Scheduled calls' });
    const row = table.getByRole('row').filter({ hasText: CALLEE });
    await row.waitFor();
    await row.locator(`time[datetime="${dispatch_at}"]`).waitFor();
    await page.getByRole('columnheader', { name: 'Will go at' }).waitFor();
  });

  step('adding the number cancels the pending call to it', async () => {
    await navTo(page, 'Calling rules');
    const add = page.getByRole('form', { name: 'Add a number' });
    await add.getByLabel('Number').fill(CALLEE);
    await add.getByLabel('Reason').fill('asked not to be called');
    await add.getByRole('button', { name: 'Add number' }).click();
    await page.getByText(`${CALLEE} is on the list; 1 pending call(s) cancelled.`).waitFor();
    const table = page.getByRole('table', { name: 'Do-not-call numbers' });
    await table
      .getByRole('row')
      .filter({ hasText: CALLEE })
      .getByText('asked not to be called')
      .waitFor();
  });

  step(
    'a CSV with a bad line imports nothing and names the line; the fixed one imports',
    async () => {
      await dismissToasts(page);
      const form = page.getByRole('form', { name: 'Import CSV' });
      await form
        .getByLabel('CSV', { exact: true })
        .fill(`number,reason\n${IMPORTED[0]},spam complaint\nnot-a-number,x\n`);
      await form.getByRole('button', { name: 'Import CSV' }).click();
      const errors = form.getByRole('list', { name: 'Import errors' });
      await errors.getByText(/line 3: the number must be in E\.164 form/).waitFor();
      const table = page.getByRole('table', { name: 'Do-not-call numbers' });
      expect(await table.getByRole('row').filter({ hasText: IMPORTED[0]! }).count()).toBe(0);

      await form
        .getByLabel('CSV', { exact: true })
        .fill(`number,reason\n${IMPORTED[0]},spam complaint\n${IMPORTED[1]}\n`);
      await form.getByRole('button', { name: 'Import CSV' }).click();
      await page.getByText(/Imported: 2 added, 0 already listed/).waitFor();
      await table
        .getByRole('row')
        .filter({ hasText: IMPORTED[0]! })
        .getByText('spam complaint')
        .waitFor();
      await table.getByRole('row').filter({ hasText: IMPORTED[1]! }).waitFor();
      await expectLabelledControls(page);
    },
  );

  step('a number is removed; the cancelled call shows as cancelled', async () => {
    await dismissToasts(page);
    await page.getByRole('button', { name: `Remove ${IMPORTED[1]}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove number' }).click();
    const table = page.getByRole('table', { name: 'Do-not-call numbers' });
    await expect
      .poll(() => table.getByRole('row').filter({ hasText: IMPORTED[1]! }).count())
      .toBe(0);

    await navTo(page, 'Scheduled calls');
    const row = page
      .getByRole('table', { name: 'Scheduled calls' })
      .getByRole('row')
      .filter({ hasText: CALLEE });
    await row.getByText('Cancelled').waitFor();
    await row.getByText('The number was added to the do-not-call list').waitFor();
  });

  step('the page passes the accessibility and layout checks at both widths', async () => {
    await page.goto('/app/calling-rules');
    expect(await checkPage(page, { title: 'Calling rules' })).toEqual([]);
    const phone = (await s.device({ viewport: PHONE })).page;
    await logIn(phone, email, PASSWORD);
    await phone.goto('/app/calling-rules');
    await phone.getByText('spam complaint').waitFor();
    expect(await checkPage(phone, { title: 'Calling rules' })).toEqual([]);
  });
});
