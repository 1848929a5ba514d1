// The telephony settings: the platform Twilio account comes as a pair, malformed values stop the
// start with a message that never echoes the token, and the lease outlasts a slow Twilio request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { TEST_ENCRYPTION_KEYS } from '../test/app.ts';

const dirs: string[] = [];
const load = (env: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-twilio-config-'));
  dirs.push(dir);
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
    ...env,
  });
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SID = `AC${'a'.repeat(32)}`;
const TOKEN = 'secrettoken0123456789abcdef01234';

describe('Twilio and dispatcher settings', () => {
  it('defaults: no platform account, dispatcher off under NODE_ENV=test, sane timings', () => {
    const c = load({});
    expect(c.twilio).toMatchObject({
      accountSid: undefined,
      authToken: undefined,
      apiUrl: undefined,
    });
    expect(c.twilio.streamTokenTtlSeconds).toBe(120);
    expect(c.dispatcher).toMatchObject({ enabled: false, maxAttempts: 5, leaseSeconds: 120 });
    expect(load({ NODE_ENV: 'development' }).dispatcher.enabled).toBe(true);
  });

  it('reads the platform account and the REST base URL', () => {
    const c = load({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_API_URL: 'http://127.0.0.1:9999/',
    });
    expect(c.twilio).toMatchObject({
      accountSid: SID,
      authToken: TOKEN,
      apiUrl: 'http://127.0.0.1:9999',
    });
  });

  it.each([
    ['only the SID', { TWILIO_ACCOUNT_SID: SID }, /together/],
    ['only the token', { TWILIO_AUTH_TOKEN: TOKEN }, /together/],
    [
      'a malformed SID',
      { TWILIO_ACCOUNT_SID: 'SK123', TWILIO_AUTH_TOKEN: TOKEN },
      /TWILIO_ACCOUNT_SID/,
    ],
    [
      'a malformed token',
      { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: `${TOKEN}!` },
      /TWILIO_AUTH_TOKEN/,
    ],
    ['a non-http API URL', { TWILIO_API_URL: 'ftp://x' }, /TWILIO_API_URL/],
    [
      'a lease shorter than two Twilio timeouts',
      { TWILIO_TIMEOUT_MS: '30000', DISPATCHER_LEASE_SECONDS: '59' },
      /LEASE/,
    ],
    ['a non-boolean switch', { DISPATCHER_ENABLED: 'maybe' }, /DISPATCHER_ENABLED/],
  ])('refuses %s', (_label, env, re) => {
    let err: unknown;
    try {
      load(env as Record<string, string>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain(TOKEN);
  });
});
