// Mail links are bearer credentials (password reset, verification, invitation). Without SMTP_URL
// mails land in the outbox; outside development the log must say so without the link, because
// logs are shipped, retained and read by people who must not be able to take over accounts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { forgotPassword, registerUser } from '../test/auth-helpers.ts';
import { linkFrom, parseMessage } from '../test/smtp.ts';

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function resetMailFlow(nodeEnv: 'test' | 'development') {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const t = await buildTestApp({
    env: { NODE_ENV: nodeEnv, DISPATCHER_ENABLED: 'false' },
    deps: { logger },
  });
  apps.push(t);
  const user = await registerUser(t.app);
  const res = await forgotPassword(t.app, user.email);
  expect(res.statusCode).toBeLessThan(300);
  await t.app.auth.mailer!.drain();
  const dir = join(t.config.dataDir, 'outbox');
  const files = readdirSync(dir);
  const resetFile = files.find((f) =>
    parseMessage(readFileSync(join(dir, f))).subject.includes('Reset'),
  )!;
  const parsed = parseMessage(readFileSync(join(dir, resetFile)));
  const link = linkFrom(parsed, '/reset-password?token=');
  const token = new URL(link).searchParams.get('token')!;
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { output: lines.join('\n'), records, token, link, resetFile, files };
}

describe('outbox mail in the log', () => {
  it('under NODE_ENV=test (as in production) logs the outbox file name, never the token', async () => {
    const { output, records, token, resetFile, files } = await resetMailFlow('test');
    expect(token.length).toBeGreaterThan(20);
    expect(output).not.toContain(token);
    expect(output).not.toContain(encodeURIComponent(token));
    expect(output).not.toContain('token=');
    const outboxLines = records.filter((r) => r.msg === 'mail written to outbox');
    expect(outboxLines).toHaveLength(files.length);
    expect(outboxLines.map((r) => String(r.file).split('/').pop())).toContain(resetFile);
  });

  it('in development logs the links so a developer can follow them without a mail server', async () => {
    const { records, link } = await resetMailFlow('development');
    const logged = records.filter((r) => r.msg === 'mail written to outbox');
    expect(logged.flatMap((r) => r.links as string[])).toContain(link);
  });
});
