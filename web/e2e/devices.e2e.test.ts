// Audio devices on the account security page, in Chromium against a started server: a device
// that streamed (a real `ws` client with the user's access token) is listed with its client id
// and codec; revoking it from the page closes its live socket (1008 device revoked) and it is
// refused from then on.
import { describe, expect } from 'vitest';
import { registerUser } from '../../src/test/auth-helpers.ts';
import { mustOpen, refusal } from '../../src/test/device-sockets.ts';
import { logIn, navTo, story } from './support/story.ts';

const PASSWORD = 'copper lantern orbit violet 61';
const s = story('devices');

describe('audio devices', () => {
  s.step('lists a streaming device and revokes it, closing its socket', async () => {
    const app = s.server.t.app;
    const u = await registerUser(app, {
      email: `devices-${Date.now()}@devices-e2e.test`,
      password: PASSWORD,
      full_name: 'Hedy Lamarr',
    });
    const ws = s.server.baseUrl.replace(/^http/, 'ws');
    const socket = await mustOpen(`${ws}/ws_pcm?token=${u.access}&device_name=Kitchen%20Mic`);
    const clientId = `${u.userId.slice(-6)}-kitchen-mic`;

    const { page } = await s.device();
    await logIn(page, u.email, PASSWORD);
    await navTo(page, 'Security');
    const list = page.getByRole('list', { name: 'Audio devices' });
    const item = list.getByRole('listitem').filter({ hasText: clientId });
    await item.waitFor();
    expect(await item.textContent()).toContain('kitchen-mic');
    expect(await item.textContent()).toContain('PCM');

    await page.getByRole('button', { name: `Revoke device ${clientId}` }).click();
    await page
      .getByRole('dialog', { name: 'Revoke kitchen-mic?' })
      .getByRole('button', { name: 'Revoke device' })
      .click();
    await page.getByText('Revoked kitchen-mic. Its connections were closed.').waitFor();
    await item.getByText('Revoked', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: `Revoke device ${clientId}` }).count()).toBe(0);

    expect(await socket.closed).toMatchObject({ code: 1008, reason: 'device revoked' });
    expect(await refusal(`${ws}/ws_pcm?token=${u.access}&device_name=kitchen-mic`)).toEqual({
      code: 1008,
      reason: 'device revoked',
    });
  });
});
