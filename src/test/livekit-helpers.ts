// A test app wired to the fake LiveKit server: LIVEKIT_* point at it and its webhooks are
// delivered into the app (POST /webhooks/livekit through inject, exactly as signed).
import { type ClaimGrants, TokenVerifier } from 'livekit-server-sdk';
import { buildTestApp, type TestApp } from './app.ts';
import type { TestDatabase } from './db.ts';
import { type FakeLiveKit, type SignedWebhook, startFakeLiveKit } from './fake-livekit.ts';

export interface LiveKitTestApp {
  t: TestApp;
  fake: FakeLiveKit;
  close(): Promise<void>;
}

/** POST a signed webhook to the app as LiveKit would. */
export function postWebhook(t: TestApp, w: SignedWebhook, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/webhooks/livekit',
    headers: {
      'content-type': 'application/webhook+json',
      authorization: w.authorization,
      ...headers,
    },
    payload: w.body,
  });
}

/** POST a room-token request (the app's path, or another such as /auth/token); unchecked. */
export function requestRoomToken(
  app: TestApp['app'],
  headers: Record<string, string>,
  payload: object = {},
  url = '/api/livekit/token',
) {
  return app.inject({ method: 'POST', url, headers, payload });
}

export async function startLiveKitTestApp(
  opts: { env?: Record<string, string>; database?: TestDatabase } = {},
): Promise<LiveKitTestApp> {
  const fake = await startFakeLiveKit();
  const t = await buildTestApp({ env: { ...fake.env, ...opts.env }, database: opts.database });
  fake.deliver = async (w) => (await postWebhook(t, w)).statusCode;
  return {
    t,
    fake,
    async close() {
      await t.close();
      await fake.close();
    },
  };
}

/** The claims of a LiveKit token, verified with the SDK as a LiveKit server would. */
export function verifyRoomToken(fake: FakeLiveKit, token: string): Promise<ClaimGrants> {
  return new TokenVerifier(fake.apiKey, fake.apiSecret).verify(token) as Promise<ClaimGrants>;
}
