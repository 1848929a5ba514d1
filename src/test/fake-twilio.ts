// A Twilio-compatible fake of the REST API's Calls resource, on 127.0.0.1, for tests driving the
// real `twilio` client (TWILIO_API_URL points at it). It checks HTTP Basic auth against the
// accounts it knows, answers POST /2010-04-01/Accounts/{sid}/Calls.json like Twilio (201 and a
// call resource, or Twilio's error document), records every call it accepted, and can be told to
// fail the next N requests or to answer slowly.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCall {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  url: string;
  statusCallback: string | undefined;
  statusCallbackEvents: string[];
  /** The scheduled_call_id query parameter of the TwiML URL (dispatched calls). */
  scheduledCallId: string | null;
  dispatchKey: string | null;
}

export interface FakeTwilio {
  /** Base URL for TWILIO_API_URL. */
  url: string;
  /** Calls accepted (201), in order. */
  calls: FakeCall[];
  /** Every Calls.json request received, accepted or not. */
  requests: number;
  /** The next n requests fail with this HTTP status and Twilio error code. */
  failNext(n: number, status?: number, code?: number): void;
  /** Answer every request after this delay (ms). */
  delayMs: number;
  close(): Promise<void>;
}

const CALLS_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Calls\.json$/;

export const fakeSid = (prefix: 'CA' | 'SM' | 'AC') =>
  `${prefix}${randomBytes(16).toString('hex')}`;

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function twilioError(res: ServerResponse, status: number, code: number, message: string) {
  send(res, status, {
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** accounts: account SID → auth token the fake accepts. */
export async function startFakeTwilio(accounts: Record<string, string>): Promise<FakeTwilio> {
  let failures: { left: number; status: number; code: number } = {
    left: 0,
    status: 503,
    code: 20503,
  };
  const state: Omit<FakeTwilio, 'url' | 'close' | 'failNext'> = {
    calls: [],
    requests: 0,
    delayMs: 0,
  };

  const server = createServer(async (req, res) => {
    const match = CALLS_PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!match || req.method !== 'POST') return twilioError(res, 404, 20404, 'Not found');
    state.requests++;
    const form = await readBody(req);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    const accountSid = match[1] as string;
    const [user, pass] = Buffer.from(
      (req.headers.authorization ?? '').replace(/^Basic /, ''),
      'base64',
    )
      .toString('utf8')
      .split(':');
    if (user !== accountSid || !pass || accounts[accountSid] !== pass) {
      return twilioError(res, 401, 20003, 'Authenticate');
    }
    if (failures.left > 0) {
      failures.left--;
      return twilioError(res, failures.status, failures.code, 'Service unavailable (fake)');
    }
    const to = form.get('To');
    const from = form.get('From');
    const url = form.get('Url');
    if (!to || !from || !url) {
      return twilioError(res, 400, 21201, 'Required parameters To, From and Url');
    }
    const twimlUrl = new URL(url);
    const call: FakeCall = {
      sid: fakeSid('CA'),
      accountSid,
      to,
      from,
      url,
      statusCallback: form.get('StatusCallback') ?? undefined,
      statusCallbackEvents: form.getAll('StatusCallbackEvent'),
      scheduledCallId: twimlUrl.searchParams.get('scheduled_call_id'),
      dispatchKey: twimlUrl.searchParams.get('dispatch_key'),
    };
    state.calls.push(call);
    const now = new Date().toUTCString();
    send(res, 201, {
      sid: call.sid,
      account_sid: accountSid,
      to,
      to_formatted: to,
      from,
      from_formatted: from,
      status: 'queued',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      start_time: null,
      end_time: null,
      duration: null,
      price: null,
      parent_call_sid: null,
      uri: `/2010-04-01/Accounts/${accountSid}/Calls/${call.sid}.json`,
      subresource_uris: {},
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    failNext(n: number, status = 503, code = 20503) {
      failures = { left: n, status, code };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
