import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { linkFrom, parseMessage, startTestSmtpServer, type TestSmtpServer } from '../test/smtp.ts';
import { createMailer, extractLinks, type Mail, type Mailer } from './mailer.ts';
import { passwordReset, verifyEmail } from './templates.ts';

const FROM = 'Switchboard <no-reply@switchboard.test>';
const TOKEN = 'tok_Secret+/=&Value_0123456789abcdefghijklmnopqrstuvwxyz';

function memoryLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  return {
    logger,
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

function resetMail(to: string): Mail {
  return {
    to,
    ...passwordReset({ publicUrl: 'http://localhost:8000', token: TOKEN, minutes: 30 }),
  };
}

let smtp: TestSmtpServer;
const mailers: Mailer[] = [];
const dirs: string[] = [];

function outboxDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-outbox-'));
  dirs.push(dir);
  return join(dir, 'outbox');
}

function mailer(opts: Partial<Parameters<typeof createMailer>[0]> = {}) {
  const log = memoryLogger();
  const m = createMailer({
    from: FROM,
    outboxDir: outboxDir(),
    logger: log.logger,
    retries: 2,
    retryDelayMs: 20,
    ...opts,
  });
  mailers.push(m);
  return { mailer: m, ...log };
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
});

afterEach(async () => {
  smtp.failNext(0);
  await Promise.all(mailers.splice(0).map((m) => m.close()));
});

afterAll(async () => {
  await smtp.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SMTP delivery', () => {
  it('delivers a mail with both parts, its subject and a followable link', async () => {
    const { mailer: m } = mailer({ smtpUrl: smtp.url });
    const mail = {
      to: 'Ada@Example.com',
      ...verifyEmail({ publicUrl: 'http://localhost:8000', token: TOKEN, name: 'Ada' }),
    };
    m.send(mail);
    const got = await smtp.waitFor((r) => r.to === 'ada@example.com');

    expect(got.subject).toBe(mail.subject);
    expect(got.from).toBe('no-reply@switchboard.test');
    expect(got.headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(got.partTypes).toEqual(['text/plain', 'text/html']);
    expect(got.text).toBe(mail.text);
    expect(got.html).toBe(mail.html);

    const link = linkFrom(got, '/verify-email?token=');
    expect(link).toBe(`http://localhost:8000/verify-email?token=${encodeURIComponent(TOKEN)}`);
    expect(new URL(link).searchParams.get('token')).toBe(TOKEN);
    expect(() => linkFrom(got, '/reset-password?token=')).toThrow(/no link/);
  });

  it('decodes non-ASCII subjects and long lines exactly', async () => {
    const { mailer: m } = mailer({ smtpUrl: smtp.url });
    const mail: Mail = {
      to: 'zoe@example.com',
      subject: 'Grüße von Zoë — ünïcödé ✓',
      text: `Héllo ${'long line with ümlauts '.repeat(20)}\nhttps://x.test/a?token=${'z'.repeat(150)}\n`,
      html: `<p>Héllo ✓ ${'y'.repeat(300)}</p>`,
    };
    await m.sendNow(mail);
    const got = await smtp.waitFor((r) => r.to === 'zoe@example.com');
    expect(got.subject).toBe(mail.subject);
    expect(got.text).toBe(mail.text);
    expect(got.html).toBe(mail.html);
    expect(linkFrom(got, '/a?token=')).toBe(`https://x.test/a?token=${'z'.repeat(150)}`);
  });

  it('retries a mail the server rejects temporarily, and it arrives', async () => {
    const { mailer: m, records } = mailer({ smtpUrl: smtp.url });
    smtp.failNext(1);
    m.send(resetMail('retry@example.com'));
    await m.drain();

    const received = smtp.messages.filter((r) => r.to === 'retry@example.com');
    expect(received).toHaveLength(1);
    const warn = records().filter((r) => r.msg === 'mail delivery failed, will retry');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ attempt: 1, response_code: 451, to_domain: 'example.com' });
    expect(records().some((r) => r.msg === 'mail delivered after retry' && r.attempt === 2)).toBe(
      true,
    );
  });

  it('delivers every queued mail and drain waits for all of them', async () => {
    const { mailer: m } = mailer({ smtpUrl: smtp.url });
    for (let i = 0; i < 7; i++) m.send(resetMail(`bulk${i}@example.com`));
    await m.drain();
    const got = smtp.messages.filter((r) => r.to.startsWith('bulk')).map((r) => r.to);
    expect(got.sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `bulk${i}@example.com`));
  });

  it('a server that is down never fails send; each attempt is logged without the token', async () => {
    const port = await closedPort();
    const {
      mailer: m,
      lines,
      records,
    } = mailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      retries: 2,
      retryDelayMs: 10,
    });

    // send() hands the mail over and returns at once: nothing to await (no promise), no throw.
    let returned: unknown = 'not called';
    expect(() => {
      returned = m.send(resetMail('victim@example.com'));
    }).not.toThrow();
    expect(returned).toBeUndefined();
    await m.drain();

    const failures = records().filter((r) => String(r.msg).startsWith('mail delivery failed'));
    expect(failures.map((r) => [r.attempt, r.level])).toEqual([
      [1, 40],
      [2, 40],
      [3, 50],
    ]);
    for (const f of failures) {
      expect(f).toMatchObject({
        to_domain: 'example.com',
        subject: 'Reset your Switchboard password',
      });
      expect(f.error).toMatch(/ECONNREFUSED|connect/i);
      expect(f.to_hash).toMatch(/^[0-9a-f]{12}$/);
    }
    const log = lines.join('');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(encodeURIComponent(TOKEN));
    expect(log).not.toContain('victim@');
    expect(log).not.toContain('reset-password');

    await expect(m.sendNow(resetMail('victim@example.com'))).rejects.toThrow();
  });

  it('gives up after the configured attempts while the server keeps failing', async () => {
    const { mailer: m, records } = mailer({ smtpUrl: smtp.url, retries: 1, retryDelayMs: 5 });
    smtp.failNext(5);
    m.send(resetMail('never@example.com'));
    await m.drain();
    expect(smtp.messages.some((r) => r.to === 'never@example.com')).toBe(false);
    expect(records().filter((r) => String(r.msg).startsWith('mail delivery failed'))).toHaveLength(
      2,
    );
  });
});

describe('outbox mode (no SMTP_URL)', () => {
  it('writes a parseable .eml with both parts and, in development, logs the links', async () => {
    const dir = outboxDir();
    const { mailer: m, records } = mailer({ outboxDir: dir, logLinks: true });
    const mail = resetMail('Ada.Lovelace+test@Example.com');
    m.send(mail);
    await m.drain();

    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const name = files[0]!;
    expect(name).toMatch(/^\d{8}T\d{6}\.\d{3}Z-ada-lovelace-test-example-com-[0-9a-f]{6}\.eml$/);

    const raw = readFileSync(join(dir, name));
    expect(raw.toString('latin1')).toMatch(/\r\n\r\n/);
    const parsed = parseMessage(raw);
    // nodemailer lowercases the domain part
    expect(parsed.headers.to).toBe('Ada.Lovelace+test@example.com');
    expect(parsed.headers.from).toBe(FROM);
    expect(parsed.headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(parsed.subject).toBe(mail.subject);
    expect(parsed.text).toBe(mail.text);
    expect(parsed.html).toBe(mail.html);

    const logged = records().find((r) => r.msg === 'mail written to outbox');
    expect(logged).toMatchObject({ to: mail.to, subject: mail.subject, level: 30 });
    const link = `http://localhost:8000/reset-password?token=${encodeURIComponent(TOKEN)}`;
    expect(logged?.links).toEqual(extractLinks(mail.text));
    expect(logged?.links).toContain(link);
  });

  it('outside development logs the file name, never a link, token or address', async () => {
    const dir = outboxDir();
    // The default is the safe one: only development opts in to logging links.
    for (const opts of [{}, { logLinks: false }]) {
      const { mailer: m, lines, records } = mailer({ outboxDir: dir, ...opts });
      const mail = resetMail('Ada.Lovelace+test@Example.com');
      m.send(mail);
      await m.drain();
      const logged = records().find((r) => r.msg === 'mail written to outbox');
      const file = String(logged?.file);
      expect(readdirSync(dir)).toContain(file.split('/').pop());
      expect(logged).toMatchObject({ subject: mail.subject, to_domain: 'example.com' });
      expect(logged).not.toHaveProperty('links');
      expect(logged).not.toHaveProperty('to');
      const output = lines.join('\n');
      expect(output).not.toContain(TOKEN);
      expect(output).not.toContain(encodeURIComponent(TOKEN));
      expect(output).not.toContain('reset-password?token=');
      expect(output).not.toContain('Ada.Lovelace');
    }
  });

  it('keeps going when the outbox cannot be written, and logs it', async () => {
    const dir = outboxDir();
    const { mailer: m, records } = mailer({ outboxDir: join(dir, '\0bad') });
    expect(() => m.send(resetMail('x@example.com'))).not.toThrow();
    await m.drain();
    expect(records().some((r) => r.msg === 'mail could not be written to the outbox')).toBe(true);
  });
});

describe('extractLinks', () => {
  it('finds http(s) links and drops trailing punctuation', () => {
    expect(
      extractLinks('See https://a.test/x?token=1%2B2. And (http://b.test/y), not ftp://c.test.'),
    ).toEqual(['https://a.test/x?token=1%2B2', 'http://b.test/y']);
  });
});
