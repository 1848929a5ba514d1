// Logs carry request ids and never credentials: headers, cookies, secret query parameters.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions, redactUrl } from './logger.ts';
import { buildTestApp, type TestApp, testConfig } from './test/app.ts';
import { GOOD_PASSWORD, registerUser } from './test/auth-helpers.ts';

let lines: string[] = [];
let t: TestApp;
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino(loggerOptions({ ...testConfig(), logLevel: 'info' }), sink);
  t = await buildTestApp({ deps: { logger } });
});
afterAll(() => t.close());

describe('logging', () => {
  it('logs request ids but never authorization headers, cookies, passwords or tokens', async () => {
    const r = await registerUser(t.app);
    lines = [];
    await t.app.inject({
      url: `/api/prompts?token=${r.refresh}&limit=5`,
      headers: {
        authorization: `Bearer ${r.access}`,
        cookie: `sb_refresh=${r.refresh}`,
        'x-request-id': 'log-test-1',
      },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: r.email, password: GOOD_PASSWORD },
    });
    const out = lines.join('');
    expect(out).toContain('log-test-1');
    expect(out).toContain('token=[REDACTED]');
    for (const secret of [r.access, r.refresh, GOOD_PASSWORD]) expect(out).not.toContain(secret);
  });

  it('redacts secret query parameters in URLs', () => {
    expect(redactUrl('/verify-email?token=abc&x=1')).toBe('/verify-email?token=[REDACTED]&x=1');
    expect(redactUrl('/ws?access_token=a.b.c')).toBe('/ws?access_token=[REDACTED]');
    expect(redactUrl('/ws_pcm?device_name=x&token=a.b.c')).toBe(
      '/ws_pcm?device_name=x&token=[REDACTED]',
    );
    expect(redactUrl('/ws?ticket=rt_abc&device_name=x')).toBe(
      '/ws?ticket=[REDACTED]&device_name=x',
    );
    expect(redactUrl('/api/prompts?limit=5')).toBe('/api/prompts?limit=5');
  });
});
