// Voice sessions in the dashboard, in Chromium, against a server wired to the fake LiveKit server:
// a session joined and left through signed webhooks and a token never used are listed on the
// Voice sessions page (room, status, duration), the status filter narrows the list, and the
// Analytics page shows the voice-session minutes per user, and per day in the chart's data table.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { bearer, registerUser } from '../../src/test/auth-helpers.ts';
import { type FakeLiveKit, startFakeLiveKit } from '../../src/test/fake-livekit.ts';
import { postWebhook } from '../../src/test/livekit-helpers.ts';
import { expectLabelledControls, logIn, navTo, story } from './support/story.ts';

// The fake starts first: the server's LIVEKIT_* variables point at it.
const env: Record<string, string> = {};
let fake: FakeLiveKit;
beforeAll(async () => {
  fake = await startFakeLiveKit();
  Object.assign(env, fake.env);
});
afterAll(() => fake?.close());

const s = story('voice-sessions', env);
const step = s.step;
const PASSWORD = 'cobalt orchard signal ferry 64';

describe('voice sessions pages', () => {
  let page: import('playwright-core').Page;
  const address = `voice-sessions-${Date.now()}@voice-sessions-e2e.test`;

  step('a session joined and left, and a token never used, are listed', async () => {
    const t = s.server.t;
    fake.deliver = async (w) => (await postWebhook(t, w)).statusCode;
    const u = await registerUser(t.app, {
      email: address,
      password: PASSWORD,
      full_name: 'Hedy Lamarr',
    });
    const token = async (room: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/livekit/token',
        headers: bearer(u.access),
        payload: { room_name: room },
      });
      expect(res.statusCode).toBe(200);
      return res.json() as { livekit_token: string; room_name: string };
    };
    const support = await token('support');
    const p = await fake.join(support.livekit_token);
    expect(
      await fake.send({
        event: 'participant_left',
        createdAt: BigInt(p.joinedAt + 150),
        room: { name: support.room_name, sid: 'RM_e2e' } as never,
        participant: { identity: p.identity, attributes: p.attributes } as never,
      }),
    ).toBe(200);
    await token('sales');

    ({ page } = await s.device());
    await logIn(page, address, PASSWORD);
    await navTo(page, 'Voice sessions');
    await page.getByRole('heading', { level: 1, name: 'Voice sessions' }).waitFor();
    const table = page.getByRole('table', { name: 'Voice sessions' });
    const ended = table.getByRole('row').filter({ hasText: 'support' });
    await ended.getByText('Ended').waitFor();
    await ended.getByText('left the room').waitFor();
    await ended.getByText('2 min 30 s').waitFor();
    await table.getByRole('row').filter({ hasText: 'sales' }).getByText('Token issued').waitFor();
    await expectLabelledControls(page);
  });

  step('the status filter narrows the list', async () => {
    const form = page.getByRole('form', { name: 'Filter voice sessions' });
    await form.getByLabel('Status').selectOption('ended');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    const table = page.getByRole('table', { name: 'Voice sessions' });
    await table.getByRole('row').filter({ hasText: 'support' }).waitFor();
    await expect.poll(() => table.getByRole('row').filter({ hasText: 'sales' }).count()).toBe(0);
    await form.getByLabel('Status').selectOption('revoked');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No voice sessions match these filters').waitFor();
  });

  step('the Analytics page shows the voice-session minutes per user', async () => {
    await navTo(page, 'Analytics');
    const card = page.getByRole('region', { name: 'Voice sessions' });
    await card.getByText(/started in the range: 1 session, 2\.5 minutes/).waitFor();
    const perUser = card.getByRole('table', { name: /Voice sessions per user/ });
    const row = perUser.getByRole('row').filter({ hasText: 'Hedy Lamarr' });
    await row.getByText('2.5', { exact: true }).waitFor();
    await row.getByText('2 min 30 s').waitFor();
  });

  step("the chart's data table has minutes and sessions per day, each column once", async () => {
    const card = page.getByRole('region', { name: 'Voice sessions' });
    const table = card.getByRole('table', { name: /^Voice-session minutes by day/ });
    expect(await table.locator('thead th').allTextContents()).toEqual([
      'Date',
      'Minutes',
      'Sessions',
    ]);
    // Today's row: the session of 2.5 minutes.
    const cells = await table.locator('tbody tr').last().locator('td').allTextContents();
    expect(cells).toEqual(['2.5', '1']);
  });
});
