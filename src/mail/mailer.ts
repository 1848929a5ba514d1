// Outgoing mail: SMTP through nodemailer with an in-memory retry queue, or an outbox folder of
// .eml files when no SMTP server is configured.
//
// Invariants:
// - A mail never fails the request that caused it: `send` only queues, and every failure ends
//   in the log, never in the caller.
// - Mail bodies carry bearer tokens (reset, verification, invitation links). Nothing of the body,
//   and not the full recipient address, is logged — the one exception is outbox mode with
//   `logLinks` (development only, see `writeToOutbox`).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailerOptions {
  /** smtp:// or smtps:// URL (credentials and nodemailer options may ride in it); unset = outbox */
  smtpUrl?: string;
  /** From header, e.g. `Switchboard <no-reply@example.com>` */
  from: string;
  /** Where .eml files go when there is no SMTP server */
  outboxDir: string;
  logger: Logger;
  /** Retries after the first failed attempt (SMTP mode). Default 3. */
  retries?: number;
  /** First retry delay; each next one is 4× longer (1 s, 4 s, 16 s by default). */
  retryDelayMs?: number;
  /**
   * Outbox mode: log each mail's links (tokens included) and recipient so a developer can follow
   * them without a mail server. Development only; off by default.
   */
  logLinks?: boolean;
}

export interface Mailer {
  /** Queues the mail and returns at once; delivery failures are retried and logged, never thrown. */
  send(mail: Mail): void;
  /** Delivers with the same retries and resolves when done; rejects after the last failure. */
  sendNow(mail: Mail): Promise<void>;
  /** Resolves once every queued mail has been delivered or given up on. */
  drain(): Promise<void>;
  /** Drains, then releases the SMTP connections. Later `send` calls are dropped and logged. */
  close(): Promise<void>;
}

const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 1000;
const BACKOFF_FACTOR = 4;
/** Mails delivered in parallel; the rest wait in the queue. */
const CONCURRENCY = 4;
/** Mails held in memory at most: beyond this a mail storm would exhaust memory, so new ones are dropped. */
const MAX_QUEUE = 10_000;

const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** Every http(s) link in a plain-text body, in order, without trailing punctuation. */
export function extractLinks(text: string): string[] {
  const links: string[] = [];
  for (const match of text.matchAll(LINK)) {
    const link = match[0].replace(/[.,;:!?)\]}]+$/, '');
    if (link.length > 0) links.push(link);
  }
  return links;
}

/** Identifies a recipient in logs without disclosing the address. */
function recipientFields(to: string): { to_domain: string; to_hash: string } {
  const address = to.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  return {
    to_domain: at >= 0 ? address.slice(at + 1) : '(none)',
    to_hash: createHash('sha256').update(address).digest('hex').slice(0, 12),
  };
}

/** Only the error's own words: a nodemailer error object can carry the SMTP transcript. */
function errorFields(err: unknown): { error: string; code?: string; response_code?: number } {
  if (!(err instanceof Error)) return { error: String(err) };
  const e = err as Error & { code?: unknown; responseCode?: unknown };
  return {
    error: err.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.responseCode === 'number' ? { response_code: e.responseCode } : {}),
  };
}

/** 5xx SMTP replies are permanent (unknown mailbox, rejected content): retrying cannot help. */
function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

function slug(address: string): string {
  const s = address
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return s === '' ? 'recipient' : s;
}

/** ISO 8601 basic format (no colons, so the name is valid on every file system) that sorts by time. */
function fileTimestamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createMailer(opts: MailerOptions): Mailer {
  const log = opts.logger.child({ component: 'mailer' });
  const retries = Math.max(0, opts.retries ?? DEFAULT_RETRIES);
  const baseDelay = Math.max(0, opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);

  // nodemailer is loaded with the first mail: a server that sends none does not hold it.
  let smtp: Promise<Transporter> | undefined;
  let composer: Promise<Transporter> | undefined;
  const smtpTransport = () => {
    smtp ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
        url: opts.smtpUrl,
        // A hung server must not hold a mail (and graceful shutdown) for nodemailer's default minutes.
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      }),
    );
    return smtp;
  };
  // Builds RFC 5322 messages (multipart/alternative text + HTML) without sending them.
  const messageComposer = () => {
    composer ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({ streamTransport: true, buffer: true, newline: 'windows' }),
    );
    return composer;
  };

  async function build(mail: Mail): Promise<Buffer> {
    const info = await (await messageComposer()).sendMail({ from: opts.from, ...mail });
    const message: unknown = info.message;
    if (!Buffer.isBuffer(message)) throw new Error('stream transport returned no message buffer');
    return message;
  }

  async function writeToOutbox(mail: Mail): Promise<void> {
    const eml = await build(mail);
    await mkdir(opts.outboxDir, { recursive: true });
    const name = `${fileTimestamp(new Date())}-${slug(mail.to)}-${randomBytes(3).toString('hex')}.eml`;
    const file = join(opts.outboxDir, name);
    await writeFile(file, eml, { mode: 0o600 });
    if (opts.logLinks) {
      // Development only: the links, tokens included, are logged on purpose so a developer can
      // follow them. This is the ONE place a token may reach the log.
      log.info(
        { to: mail.to, subject: mail.subject, links: extractLinks(mail.text), file },
        'mail written to outbox',
      );
      return;
    }
    // Anywhere else a logged link is a credential in every log pipeline and backup: say where
    // the mail is, and let whoever may read the outbox folder open it there.
    log.info(
      { ...recipientFields(mail.to), subject: mail.subject, file },
      'mail written to outbox',
    );
  }

  async function deliverSmtp(mail: Mail): Promise<void> {
    const transport = await smtpTransport();
    const who = recipientFields(mail.to);
    const attempts = retries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await transport.sendMail({ from: opts.from, ...mail });
        if (attempt > 1) {
          log.info({ ...who, subject: mail.subject, attempt }, 'mail delivered after retry');
        } else {
          log.debug({ ...who, subject: mail.subject }, 'mail delivered');
        }
        return;
      } catch (err) {
        const permanent = isPermanent(err);
        const last = permanent || attempt >= attempts;
        const fields = {
          ...who,
          subject: mail.subject,
          attempt,
          of: attempts,
          ...errorFields(err),
        };
        if (last) {
          log.error(
            fields,
            permanent ? 'mail rejected permanently, giving up' : 'mail delivery failed, giving up',
          );
          throw err;
        }
        log.warn(fields, 'mail delivery failed, will retry');
        await sleep(baseDelay * BACKOFF_FACTOR ** (attempt - 1));
      }
    }
  }

  const deliver = (mail: Mail) => (opts.smtpUrl ? deliverSmtp(mail) : writeToOutbox(mail));

  const queue: Mail[] = [];
  let active = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  function settleIfIdle(): void {
    if (active === 0 && queue.length === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function pump(): void {
    while (active < CONCURRENCY && queue.length > 0) {
      const mail = queue.shift()!;
      active++;
      deliver(mail)
        .catch((err: unknown) => {
          // Already logged with its attempts in SMTP mode; outbox failures are logged here.
          if (!opts.smtpUrl) {
            log.error(
              { ...recipientFields(mail.to), subject: mail.subject, ...errorFields(err) },
              'mail could not be written to the outbox',
            );
          }
        })
        .finally(() => {
          active--;
          pump();
          settleIfIdle();
        });
    }
  }

  function drain(): Promise<void> {
    if (active === 0 && queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => idleWaiters.push(resolve));
  }

  return {
    send(mail) {
      if (closed || queue.length >= MAX_QUEUE) {
        log.error(
          { ...recipientFields(mail.to), subject: mail.subject },
          closed ? 'mailer closed, mail dropped' : 'mail queue full, mail dropped',
        );
        return;
      }
      queue.push(mail);
      pump();
    },
    async sendNow(mail) {
      if (closed) throw new Error('mailer is closed');
      await deliver(mail);
    },
    drain,
    async close() {
      closed = true;
      await drain();
      for (const transport of [smtp, composer])
        await transport?.then(
          (t) => t.close(),
          () => {},
        );
    },
  };
}
