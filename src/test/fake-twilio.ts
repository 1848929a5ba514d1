// A Twilio-compatible fake of the REST API's Calls and IncomingPhoneNumbers resources, on
// 127.0.0.1, for tests driving the real `twilio` client (TWILIO_API_URL points at it). It checks
// HTTP Basic auth against the accounts it knows, answers POST /2010-04-01/Accounts/{sid}/Calls.json
// like Twilio (201 and a call resource, or Twilio's error document), records every call it
// accepted, answers GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=… with
// the account's numbers matching the filter (Twilio matches a part of the number, not only the
// whole), records POST /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json (a live call updated: the
// kill switch hangs up with Status=completed), and can be told to fail the next N requests or to
// answer slowly.
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

export interface FakeCallUpdate {
  sid: string;
  accountSid: string;
  status: string | null;
}

export interface FakeTwilio {
  /** Calls updated (POST …/Calls/{CallSid}.json), in order: `status: 'completed'` hangs up. */
  callUpdates: FakeCallUpdate[];
  /** Base URL for TWILIO_API_URL. */
  url: string;
  /** Calls accepted (201), in order. */
  calls: FakeCall[];
  /** Every Calls.json request received, accepted or not. */
  requests: number;
  /** Every IncomingPhoneNumbers.json request received, authenticated or not. */
  numberLookups: number;
  /** Put a number on an account (as buying it on Twilio would). */
  addNumber(accountSid: string, number: string): void;
  /** Take a number off an account (released, or moved to another account). */
  removeNumber(accountSid: string, number: string): void;
  /** The next n requests fail with this HTTP status and Twilio error code. */
  failNext(n: number, status?: number, code?: number): void;
  /** Answer every request after this delay (ms). */
  delayMs: number;
  /**
   * Runs while a call is being placed: after it is accepted, before the 201 answer (what happens
   * on our side in that instant — a suspension, say — races the placement).
   */
  whilePlacing?: (call: FakeCall) => Promise<void> | void;
  /**
   * Runs while a number lookup is on the wire, before it is answered (what happens on our side in
   * that instant — a change of the org's account, say — races the ownership check).
   */
  whileLookingUp?: (accountSid: string) => Promise<void> | void;
  close(): Promise<void>;
}

const CALLS_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Calls\.json$/;
const CALL_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Calls\/(CA[0-9a-fA-F]{32})\.json$/;
const NUMBERS_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/IncomingPhoneNumbers\.json$/;

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
  const numbers = new Map<string, { sid: string; number: string }[]>();
  const state: Omit<FakeTwilio, 'url' | 'close' | 'failNext' | 'addNumber' | 'removeNumber'> = {
    calls: [],
    callUpdates: [],
    requests: 0,
    numberLookups: 0,
    delayMs: 0,
  };

  const authenticated = (req: IncomingMessage, accountSid: string) => {
    const [user, pass] = Buffer.from(
      (req.headers.authorization ?? '').replace(/^Basic /, ''),
      'base64',
    )
      .toString('utf8')
      .split(':');
    return user === accountSid && !!pass && accounts[accountSid] === pass;
  };

  const server = createServer(async (req, res) => {
    const reqUrl = new URL(req.url ?? '/', 'http://x');
    const lookup = NUMBERS_PATH.exec(reqUrl.pathname);
    if (lookup && req.method === 'GET') {
      state.numberLookups++;
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      const accountSid = lookup[1] as string;
      await state.whileLookingUp?.(accountSid);
      if (!authenticated(req, accountSid)) return twilioError(res, 401, 20003, 'Authenticate');
      if (failures.left > 0) {
        failures.left--;
        return twilioError(res, failures.status, failures.code, 'Service unavailable (fake)');
      }
      const filter = reqUrl.searchParams.get('PhoneNumber') ?? '';
      const pageSize = Number(reqUrl.searchParams.get('PageSize') ?? '50');
      const uri = `/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers.json`;
      const items = (numbers.get(accountSid) ?? [])
        .filter((n) => n.number.includes(filter))
        .slice(0, pageSize)
        .map((n) => ({
          sid: n.sid,
          account_sid: accountSid,
          phone_number: n.number,
          friendly_name: n.number,
          status: 'in-use',
          capabilities: { voice: true, sms: true, mms: false, fax: false },
          api_version: '2010-04-01',
          uri: `/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
        }));
      return send(res, 200, {
        incoming_phone_numbers: items,
        first_page_uri: `${uri}?PageSize=${pageSize}&Page=0`,
        next_page_uri: null,
        previous_page_uri: null,
        page: 0,
        page_size: pageSize,
        start: 0,
        end: Math.max(0, items.length - 1),
        uri: `${uri}?PageSize=${pageSize}&Page=0`,
      });
    }
    const one = CALL_PATH.exec(reqUrl.pathname);
    if (one && req.method === 'POST') {
      const form = await readBody(req);
      const [, accountSid, sid] = one as unknown as [string, string, string];
      if (!authenticated(req, accountSid)) return twilioError(res, 401, 20003, 'Authenticate');
      if (failures.left > 0) {
        failures.left--;
        return twilioError(res, failures.status, failures.code, 'Service unavailable (fake)');
      }
      const status = form.get('Status');
      state.callUpdates.push({ sid, accountSid, status });
      const now = new Date().toUTCString();
      return send(res, 200, {
        sid,
        account_sid: accountSid,
        status: status ?? 'in-progress',
        direction: 'inbound',
        api_version: '2010-04-01',
        date_created: now,
        date_updated: now,
        uri: `/2010-04-01/Accounts/${accountSid}/Calls/${sid}.json`,
        subresource_uris: {},
      });
    }
    const match = CALLS_PATH.exec(reqUrl.pathname);
    if (!match || req.method !== 'POST') return twilioError(res, 404, 20404, 'Not found');
    state.requests++;
    const form = await readBody(req);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    const accountSid = match[1] as string;
    if (!authenticated(req, accountSid)) {
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
    await state.whilePlacing?.(call);
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
    addNumber(accountSid: string, number: string) {
      const list = numbers.get(accountSid) ?? [];
      list.push({ sid: `PN${randomBytes(16).toString('hex')}`, number });
      numbers.set(accountSid, list);
    },
    removeNumber(accountSid: string, number: string) {
      numbers.set(
        accountSid,
        (numbers.get(accountSid) ?? []).filter((n) => n.number !== number),
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
