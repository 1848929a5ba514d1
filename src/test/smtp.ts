// Test-only SMTP server on loopback: receives real SMTP sessions (nodemailer on the other end),
// keeps every message with its text and HTML parts decoded, and can answer 451 on demand so
// retry paths are exercised against a real protocol exchange, not a mock.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { extractLinks } from '../mail/mailer.ts';

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** First envelope recipient, lowercased (the mailer sends one recipient per mail). */
  to: string;
  /** Every envelope recipient, lowercased. */
  recipients: string[];
  /** Subject header with RFC 2047 encoded words decoded. */
  subject: string;
  /** Decoded text/plain part ('' when absent). */
  text: string;
  /** Decoded text/html part ('' when absent). */
  html: string;
  /** Top-level headers, lowercase names, unfolded and decoded; the last value wins. */
  headers: Record<string, string>;
  /** Content-Type of every leaf part, in order (e.g. to assert multipart/alternative). */
  partTypes: string[];
  /** The message as received. */
  raw: string;
}

export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`, ready for nodemailer's createTransport. */
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** First message (already received or arriving later) that matches; rejects on timeout. */
  waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  /** Rejects the next n messages with 451 (temporary failure) after their data is sent. */
  failNext(n: number): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// A small MIME reader, enough for what nodemailer produces: multipart nesting, quoted-printable
// and base64 transfer encodings, charsets, RFC 2047 encoded words in headers.

interface Entity {
  headers: Map<string, string>;
  /** Body as a latin1 string: one character per byte, so no byte is lost before decoding. */
  body: string;
}

function splitEntity(raw: string): Entity {
  const sep = /\r?\n\r?\n/.exec(raw);
  const head = sep ? raw.slice(0, sep.index) : raw;
  const body = sep ? raw.slice(sep.index + sep[0].length) : '';
  const headers = new Map<string, string>();
  const unfolded = head.replace(/\r?\n(?=[ \t])/g, '');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parseContentType(value: string | undefined): {
  type: string;
  params: Record<string, string>;
} {
  if (!value) return { type: 'text/plain', params: {} };
  const semi = value.indexOf(';');
  const type = (semi >= 0 ? value.slice(0, semi) : value).trim().toLowerCase();
  const params: Record<string, string> = {};
  const rest = semi >= 0 ? value.slice(semi) : '';
  for (const m of rest.matchAll(/;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    const key = m[1]!.toLowerCase();
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[key] = v;
  }
  return { type, params };
}

function decodeQuotedPrintable(latin1: string): Buffer {
  const soft = latin1.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    const hex = soft.slice(i + 1, i + 3);
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c.charCodeAt(0) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function decodeTransfer(latin1: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '7bit').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(latin1.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(latin1);
    default:
      return Buffer.from(latin1, 'latin1');
  }
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** RFC 2047: `=?utf-8?Q?...?=` / `=?utf-8?B?...?=`; whitespace between two encoded words is dropped. */
function decodeWords(value: string): string {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(word, (_all, charset: string, enc: string, data: string) => {
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : decodeQuotedPrintable(data.replace(/_/g, ' '));
    // RFC 2231 language suffix: utf-8*en
    return decodeCharset(bytes, charset.split('*')[0]);
  });
}

interface Leaf {
  type: string;
  content: string;
  attachment: boolean;
}

function collectLeaves(entity: Entity, out: Leaf[], depth = 0): void {
  const { type, params } = parseContentType(entity.headers.get('content-type'));
  if (type.startsWith('multipart/') && params.boundary && depth < 10) {
    const delimiter = `--${params.boundary}`;
    const lines = entity.body.split(/\r?\n/);
    let current: string[] | null = null;
    for (const line of lines) {
      if (line === delimiter || line === `${delimiter}--` || line.startsWith(`${delimiter} `)) {
        if (current) collectLeaves(splitEntity(current.join('\r\n')), out, depth + 1);
        current = line.startsWith(`${delimiter}--`) ? null : [];
        if (current === null) break;
      } else if (current) {
        current.push(line);
      }
    }
    return;
  }
  const disposition = (entity.headers.get('content-disposition') ?? '').toLowerCase();
  const bytes = decodeTransfer(entity.body, entity.headers.get('content-transfer-encoding'));
  out.push({
    type,
    // SMTP forces CRLF line ends; give tests back the LF text the sender wrote.
    content: type.startsWith('text/')
      ? decodeCharset(bytes, params.charset).replace(/\r\n/g, '\n')
      : '',
    attachment: disposition.startsWith('attachment'),
  });
}

/** Parses one RFC 5322 message (as produced by nodemailer) into its subject and decoded parts. */
export function parseMessage(
  raw: Buffer | string,
): Omit<ReceivedMail, 'from' | 'to' | 'recipients'> {
  const latin1 =
    typeof raw === 'string' ? Buffer.from(raw, 'utf8').toString('latin1') : raw.toString('latin1');
  const top = splitEntity(latin1);
  const leaves: Leaf[] = [];
  collectLeaves(top, leaves);
  const headers: Record<string, string> = {};
  for (const [k, v] of top.headers) {
    // Header bytes are UTF-8 when a sender uses SMTPUTF8; re-read them as such before decoding words.
    headers[k] = decodeWords(Buffer.from(v, 'latin1').toString('utf8'));
  }
  const inline = leaves.filter((l) => !l.attachment);
  return {
    subject: headers.subject ?? '',
    text: inline.find((l) => l.type === 'text/plain')?.content ?? '',
    html: inline.find((l) => l.type === 'text/html')?.content ?? '',
    headers,
    partTypes: leaves.map((l) => l.type),
    raw: typeof raw === 'string' ? raw : raw.toString('utf8'),
  };
}

// ---------------------------------------------------------------------------------------------

export async function startTestSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const listeners = new Set<(mail: ReceivedMail) => void>();
  let failures = 0;

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    // Credentials in a test SMTP_URL must not break the session: plain-text AUTH is accepted
    // because this server only ever listens on loopback.
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'test' });
    },
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const err = new Error('Temporary failure, try again later') as Error & {
            responseCode: number;
          };
          err.responseCode = 451;
          callback(err);
          return;
        }
        const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const mailFrom = session.envelope.mailFrom;
        const mail: ReceivedMail = {
          from: mailFrom ? mailFrom.address : '',
          to: recipients[0] ?? '',
          recipients,
          ...parseMessage(Buffer.concat(chunks)),
        };
        messages.push(mail);
        for (const l of listeners) l(mail);
        callback(null, 'Message accepted');
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitFor(predicate, timeoutMs = 5000) {
      const already = messages.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `no matching mail within ${timeoutMs} ms (received: ${messages.map((m) => `${m.to} "${m.subject}"`).join(', ') || 'none'})`,
            ),
          );
        }, timeoutMs);
        const listener = (mail: ReceivedMail) => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(mail);
        };
        listeners.add(listener);
      });
    },
    failNext(n) {
      failures = Math.max(0, Math.floor(n));
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The first http(s) link in the mail's text part whose path (and query) starts with `path`, e.g.
 * `linkFrom(mail, '/reset-password?token=')`. Throws when there is none.
 */
export function linkFrom(mail: Pick<ReceivedMail, 'text' | 'subject'>, path: string): string {
  for (const link of extractLinks(mail.text)) {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      continue;
    }
    if (`${url.pathname}${url.search}`.startsWith(path)) return link;
  }
  throw new Error(`no link starting with ${path} in mail "${mail.subject}"`);
}
