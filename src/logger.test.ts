// Logs carry request ids and never credentials: headers, cookies, secret query parameters. One
// access line per request; JSON lines written asynchronously and still all there at exit.
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logDestination, loggerOptions, redactUrl, TurnBatchedDestination } from './logger.ts';
import { buildTestApp, type TestApp, testConfig } from './test/app.ts';
import { GOOD_PASSWORD, registerUser } from './test/auth-helpers.ts';

let lines: string[] = [];
let t: TestApp;
let childLoggers = 0;
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino(loggerOptions({ ...testConfig(), logLevel: 'info' }), sink);
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    childLoggers++;
    return child(...args);
  }) as typeof logger.child;
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

  it("makes a request's logger on its first line only, and that line carries the request id", async () => {
    childLoggers = 0;
    lines = [];
    for (let i = 0; i < 3; i++) await t.app.inject({ url: '/health' });
    // Three access lines, through the access logger made at start: no logger per request.
    expect(lines).toHaveLength(3);
    expect(childLoggers).toBe(0);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json', 'x-request-id': 'lazy-child-1' },
      payload: '{"email":',
    });
    expect(res.statusCode).toBe(400);
    expect(childLoggers).toBe(1);
    const own = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.request_id === 'lazy-child-1');
    expect(own.map((l) => l.msg)).toEqual([expect.stringMatching(/^rejected: /), 'request']);
  });

  it('writes one access line per request: method, route, status, time, request id and org', async () => {
    const r = await registerUser(t.app);
    lines = [];
    const res = await t.app.inject({
      url: '/api/prompts?limit=5',
      headers: { authorization: `Bearer ${r.access}`, 'x-request-id': 'access-line-1' },
    });
    expect(res.statusCode).toBe(200);
    await t.app.inject({ url: '/no/such/route', headers: { 'x-request-id': 'access-line-2' } });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const first = parsed.filter((l) => l.request_id === 'access-line-1');
    expect(first).toEqual([
      expect.objectContaining({
        msg: 'request',
        method: 'GET',
        route: '/api/prompts',
        url: '/api/prompts?limit=5',
        status: 200,
        ms: expect.any(Number),
        org: r.orgId,
      }),
    ]);
    // Unknown routes and anonymous callers are logged too: no route pattern, no org.
    expect(parsed.filter((l) => l.request_id === 'access-line-2')).toEqual([
      expect.objectContaining({ msg: 'request', route: null, status: 404, org: null }),
    ]);
    expect(lines.join('')).not.toContain(r.access);
  });

  it('writes JSON through an asynchronous destination that is flushed when the process exits', () => {
    // A child process logs many lines and exits at once, before any write could complete: far
    // more than a pipe holds (64 KB), so lines left to an asynchronous write at exit would be cut.
    const n = 5000;
    const script = `
      import { pino } from 'pino';
      import { logDestination, loggerOptions } from './src/logger.ts';
      const log = pino(loggerOptions({ logLevel: 'info', nodeEnv: 'production' }), logDestination());
      for (let i = 0; i < ${n}; i++) log.info({ i, password: 'hunter2-secret' }, 'line');
      process.exit(0);
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    expect(child.status).toBe(0);
    const out = child.stdout.trim().split('\n');
    expect(out).toHaveLength(n);
    // Every line whole and in order.
    expect(out.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(n).keys()]);
    expect(JSON.parse(out[n - 1]!)).toMatchObject({
      i: n - 1,
      msg: 'line',
      password: '[REDACTED]',
    });
    expect(child.stdout).not.toContain('hunter2-secret');
  });

  it('keeps every line when the process dies with a write already under way (a crash)', () => {
    // A turn passes after 3000 lines, so they are being written when the process dies of an
    // uncaught exception: a write left to the exiting process would be cut (a pipe kept ~2600).
    const n = 3000;
    const script = `
      import { pino } from 'pino';
      import { logDestination, loggerOptions } from './src/logger.ts';
      const log = pino(loggerOptions({ logLevel: 'info', nodeEnv: 'production' }), logDestination());
      for (let i = 0; i < ${n}; i++) log.info({ i, pad: 'x'.repeat(200) }, 'line');
      setImmediate(() => {
        log.info({ i: ${n} }, 'line');
        throw new Error('crash');
      });
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    expect(child.stderr).toContain('crash');
    expect(child.status).toBe(1);
    // Every line whole (a cut one shows as itself) and in order.
    const seen = child.stdout
      .trim()
      .split('\n')
      .map((l) => {
        try {
          return (JSON.parse(l) as { i: number }).i;
        } catch {
          return `cut: ${l.slice(0, 60)}`;
        }
      });
    expect(seen).toEqual([...Array(n + 1).keys()]);
  });

  it('hands the lines of one event-loop turn to the writer in one write, in order, and all at exit', async () => {
    const calls: string[] = [];
    const sink = {
      write(s: string) {
        calls.push(`write ${JSON.stringify(s)}`);
        return true;
      },
      flush() {
        calls.push('flush');
      },
      flushSync() {
        calls.push('flushSync');
      },
      end() {
        calls.push('end');
      },
    };
    const exitHandlers = () => process.listeners('exit').length;
    const before = exitHandlers();
    const dest = new TurnBatchedDestination(sink);
    try {
      expect(exitHandlers()).toBe(before + 1);
      dest.write('a\n');
      dest.write('b\n');
      dest.write('c\n');
      // Nothing is handed over during the turn that logged.
      expect(calls).toEqual([]);
      await new Promise((r) => setImmediate(r));
      expect(calls).toEqual(['write "a\\nb\\nc\\n"']);
      // pino's logger.flush, and its flushSync after a fatal line: what was gathered goes first.
      dest.write('d\n');
      dest.flush();
      dest.write('e\n');
      dest.flushSync();
      expect(calls.slice(1)).toEqual(['write "d\\n"', 'flush', 'write "e\\n"', 'flushSync']);
      // At exit (the handler is end()): what was gathered, then everything copied over, then the
      // writer thread ends, which returns once it has written all and closed.
      dest.write('f\n');
      calls.length = 0;
      for (const handler of process.listeners('exit').slice(before)) handler(0);
      expect(calls).toEqual(['write "f\\n"', 'flushSync', 'end']);
      expect(exitHandlers()).toBe(before);
      // Nothing more after the end, not even a turn later or on a flush.
      dest.write('g\n');
      await new Promise((r) => setImmediate(r));
      dest.flushSync();
      dest.end();
      expect(calls).toEqual(['write "f\\n"', 'flushSync', 'end', 'flushSync']);
    } finally {
      dest.end();
    }
  });

  it('pretty-prints on a terminal and writes JSON lines elsewhere', () => {
    const toFile = logDestination({ tty: false, dest: '/dev/null' });
    expect(toFile).toBeInstanceOf(TurnBatchedDestination);
    const pretty = logDestination({ tty: true, dest: '/dev/null' });
    // pino.transport: pino-pretty in a worker thread (so it must be installed for `npm start`).
    expect(pretty.constructor.name).toBe('ThreadStream');
    (pretty as unknown as { end(): void }).end();
    (toFile as unknown as { end(): void }).end();
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

  it('redacts a secret parameter whatever its name’s spelling (the routes read it decoded)', () => {
    expect(redactUrl('/ws_pcm?%74oken=sb_abc_secret')).toBe('/ws_pcm?%74oken=[REDACTED]');
    expect(redactUrl('/ws?tok%65n=a.b.c&device_name=x')).toBe(
      '/ws?tok%65n=[REDACTED]&device_name=x',
    );
    expect(redactUrl('/ws?TICKET=rt_abc')).toBe('/ws?TICKET=[REDACTED]');
    expect(redactUrl('/ws?ti%63ket=rt_abc&%zz=1')).toBe('/ws?ti%63ket=[REDACTED]&%zz=1');
    expect(redactUrl('/api/prompts?limit=5&tokens=1')).toBe('/api/prompts?limit=5&tokens=1');
  });

  it('a 5xx the server answers on purpose (LiveKit not configured) is one warning without a stack, not an error', async () => {
    const r = await registerUser(t.app);
    lines = [];
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/livekit/token',
      headers: { authorization: `Bearer ${r.access}`, 'x-request-id': 'not-configured-1' },
    });
    expect(res.statusCode).toBe(503);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.filter((l) => (l.level as number) >= 50)).toEqual([]);
    const warning = logged.find((l) => l.msg === 'request refused: livekit_not_configured');
    expect(warning).toMatchObject({
      level: 40,
      code: 'livekit_not_configured',
      request_id: 'not-configured-1',
    });
    expect(JSON.stringify(warning)).not.toContain('stack');
  });
});
