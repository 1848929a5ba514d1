// The Conversations page end to end, in Chromium: sign up → a device streams a PCM conversation
// (a real ws client through the stream handler, into the server's database and DATA_DIR) → the
// page lists it, and its <audio> player loads the file through the session cookie (metadata
// with a duration: the CSP's media-src allows it) → filters → delete with a confirmation.
import type { Page } from 'playwright-core';
import { afterAll, describe, expect } from 'vitest';
import { createAudioStreamHandler } from '../../src/conversations/audio-stream.handler.ts';
import {
  connect,
  type DeviceServer,
  event,
  sinePcm,
  startDeviceServer,
} from '../../src/test/audio.ts';
import { waitForExpression } from './support/audit.ts';
import { dismissToasts, expectLabelledControls, navTo, story } from './support/story.ts';

const s = story('conversations');
const step = s.step;
const stamp = Date.now();
const owner = { email: `conv-owner-${stamp}@conv-e2e.test`, name: 'Grace Hopper' };
const PASSWORD = 'amber kestrel harbor violin 58';
let devices: DeviceServer | undefined;

afterAll(async () => {
  await devices?.close();
});

describe('conversations dashboard', () => {
  let page: Page;

  step('signs up; a device streams a conversation', async () => {
    ({ page } = await s.device());
    await page.goto('/register');
    await page.getByLabel('Company name').fill('Hopper Labs');
    await page.getByLabel('Full name').fill(owner.name);
    await page.getByLabel('Work email').fill(owner.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Welcome, Grace' }).waitFor();

    const me = await (await page.request.get('/api/users/me')).json();
    const { t } = s.server;
    devices = await startDeviceServer(
      createAudioStreamHandler({ database: t.database, config: t.config }),
    );
    const c = await connect(
      devices.url('pcm', { orgId: me.org.id, userId: me.id, deviceName: 'pendant' }),
    );
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    await c.next('audio-started');
    c.ws.send(sinePcm(2));
    c.ws.send(event('audio-stop'));
    await c.next('audio-stopped');
    c.ws.close();
  });

  step('lists the conversation and plays it', async () => {
    await navTo(page, 'Conversations');
    await page.getByRole('heading', { level: 1, name: 'Conversations' }).waitFor();
    await expectLabelledControls(page);
    const table = page.getByRole('table', { name: 'Conversations' });
    const row = table.getByRole('row').filter({ hasText: 'pendant' });
    await row.getByText('Complete', { exact: true }).waitFor();
    await row.getByText('0:02', { exact: true }).waitFor();
    const player = row.getByLabel(/^Play conversation from pendant/);
    await player.waitFor();
    // The browser fetched the file with the session cookie and read its header.
    await waitForExpression(
      page,
      `(() => { const a = document.querySelector('audio'); return a !== null && a.readyState >= 1 && a.duration > 1.9; })()`,
      'playable',
    );
    const duration = Number(await page.evaluate(`document.querySelector('audio').duration`));
    expect(duration).toBeCloseTo(2, 1);
  });

  step('filters by device', async () => {
    await page.getByLabel('Device (client id)').fill('nobody-here');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No conversations match these filters').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page
      .getByRole('table', { name: 'Conversations' })
      .getByText('pendant', { exact: true })
      .waitFor();
  });

  step('deletes the conversation after a confirmation', async () => {
    await page.getByRole('button', { name: /^Delete conversation from pendant/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Its recording is removed from the server').waitFor();
    await dialog.getByRole('button', { name: 'Delete conversation' }).click();
    await page.getByText('Conversation deleted.').waitFor();
    await dismissToasts(page);
    await page.getByText('No conversations yet').waitFor();
    const list = await (await page.request.get('/api/conversations')).json();
    expect(list.items).toEqual([]);
  });
});
