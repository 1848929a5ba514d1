// Demo data for the dashboard: a company with people, invitations, API keys, prompts, phone
// numbers, voice and messaging agents, scheduled calls, a month of calls (one still in progress)
// and SMS conversations. Seeded through the API and Twilio's signed webhooks (and, for the call
// history, straight into the log so the charts have a month behind them). Used by
// scripts/screenshots.ts and by the browser tests that walk every page (web/e2e/pages.e2e.test.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Insertable } from 'kysely';
import twilio from 'twilio';
import type { Config } from '../../../src/config.ts';
import type { Database } from '../../../src/db/database.ts';
import type { DB } from '../../../src/db/schema.ts';
import { withSystem } from '../../../src/db/tenant.ts';
import { newId } from '../../../src/http/ids.ts';
import { parseMessage } from '../../../src/test/smtp.ts';

/** The owner's (and every demo person's) password. */
export const DEMO_PASSWORD = 'correct horse battery staple 42';
export const DEMO_OWNER = { email: 'ada@acme-voice.example', name: 'Ada Lovelace' };

/** What the server needs for the demo: Twilio credentials (signed webhooks), no dispatcher. */
export const DEMO_ENV: Record<string, string> = {
  PUBLIC_URL: 'https://switchboard.acme-voice.example',
  TWILIO_ACCOUNT_SID: `AC${'3'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'screenshotsonlytoken0123456789ab',
  DISPATCHER_ENABLED: 'false',
};

/** Seeds the demo into a started server (`base`) over its database; mails land in the outbox. */
// biome-ignore lint/suspicious/noExplicitAny: demo seeding reads a few fields of known answers.
type Answer = any;

/** One API request of the seeding (a bearer token when given); throws on an answer not 2xx. */
export async function demoCall(
  base: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

export async function seedDemo({
  base,
  database,
  config,
}: {
  base: string;
  database: Database;
  config: Readonly<Config>;
}): Promise<void> {
  const PASSWORD = DEMO_PASSWORD;
  const dataDir = config.dataDir;
  const call = (method: string, path: string, token: string | null, body?: unknown) =>
    demoCall(base, method, path, token, body);

  // Demo data: a company with people, invitations, keys and prompts.
  const owner = await call('POST', '/api/auth/register', null, {
    email: DEMO_OWNER.email,
    password: PASSWORD,
    full_name: DEMO_OWNER.name,
    company_name: 'Acme Voice',
  });
  // Mails in the outbox folder (no SMTP here): the newest link matching `pattern` sent to `to`.
  const outbox = join(dataDir, 'outbox');
  async function mailedToken(to: string, pattern: RegExp): Promise<string> {
    for (let i = 0; i < 50; i++) {
      for (const file of existsSync(outbox) ? readdirSync(outbox).sort().reverse() : []) {
        const raw = readFileSync(join(outbox, file));
        const mail = parseMessage(raw);
        if (!raw.toString('latin1').includes(to)) continue;
        const link = pattern.exec(mail.text);
        if (link) return link[1]!;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail to ${to} matching ${pattern}`);
  }
  // The owner has verified their address (the link from the welcome mail, with the password chosen
  // at sign-up). The first proof of an address ends the sessions opened before it, so the owner
  // logs in again afterwards.
  await call('POST', '/api/auth/email/verify', null, {
    token: await mailedToken(owner.user.email, /\/verify-email\?token=([\w-]+)/),
    password: PASSWORD,
  });
  const token = (
    await call('POST', '/api/auth/login', null, { email: owner.user.email, password: PASSWORD })
  ).access_token as string;
  for (const [email, full_name, role] of [
    ['grace@acme-voice.example', 'Grace Hopper', 'admin'],
    ['alan@acme-voice.example', 'Alan Turing', 'manager'],
    ['katherine@acme-voice.example', 'Katherine Johnson', 'member'],
  ] as const) {
    // Admins never choose a password: each person sets theirs through the mailed link.
    await call('POST', '/api/orgs/current/users', token, { email, full_name, role });
    await call('POST', '/api/auth/password/reset', null, {
      token: await mailedToken(email, /\/reset-password\?token=([\w-]+)/),
      new_password: PASSWORD,
    });
  }
  for (const [email, role] of [
    ['dorothy@acme-voice.example', 'member'],
    ['mary@acme-voice.example', 'manager'],
  ]) {
    await call('POST', '/api/orgs/current/invitations', token, { email, role });
  }
  await call('POST', '/api/api-keys', token, {
    name: 'Production agent worker',
    scopes: ['prompts:read', 'agent:context'],
  });
  const old = await call('POST', '/api/api-keys', token, {
    name: 'Staging',
    scopes: ['prompts:read'],
  });
  await call('DELETE', `/api/api-keys/${old.id}`, token);
  for (const [name, description, content] of [
    [
      'Front desk',
      'Greets callers and routes them',
      'You are the front desk of Acme Voice. Greet the caller, ask how you can help, and route them to sales, support or billing.',
    ],
    [
      'Appointment reminder',
      'Outgoing reminder calls',
      'You call to remind a customer of their appointment. Confirm the date and time; offer to reschedule.',
    ],
    [
      'After-hours support',
      null,
      'The office is closed. Take a message with the caller’s name, number and reason for calling.',
    ],
    [
      'Order status',
      'Answers “where is my order?” by text',
      'Look up the order by its number and tell the customer where it is and when it will arrive.',
    ],
  ]) {
    await call('POST', '/api/prompts', token, { name, description, content });
  }

  // Voice demo data: numbers, agents, a messaging agent, scheduled calls; a month of calls (written
  // straight into the log so the charts have history) and a conversation through the SMS webhook.
  const sales = await call('POST', '/api/phones', token, {
    number: '+14155550100',
    label: 'Main line',
  });
  const support = await call('POST', '/api/phones', token, {
    number: '+14155550111',
    label: 'Support',
  });
  await call('POST', '/api/phones', token, {
    number: '+442079460000',
    label: 'London',
    active: false,
  });
  // The platform operator's assignment (POST /api/admin/phone-assignments) of the two US numbers:
  // a registered number is inert until verified. London stays pending, to show that state.
  await withSystem(database, (tx) =>
    tx
      .updateTable('phones')
      .set({
        verification_status: 'verified',
        verification_method: 'platform_assignment',
        verified_at: new Date(),
      })
      .where('id', 'in', [sales.id as string, support.id as string])
      .execute(),
  );
  const prompts = (await call('GET', '/api/prompts?limit=10', token)).items as Answer[];
  const promptId = (name: string) => prompts.find((p) => p.name === name)?.id ?? null;
  const agents: Answer[] = [];
  for (const [name, direction, phone, prompt] of [
    ['Front desk', 'incoming', sales, 'Front desk'],
    ['Support line', 'incoming', support, 'After-hours support'],
    ['Reminders', 'outgoing', sales, 'Appointment reminder'],
  ] as const) {
    agents.push(
      await call('POST', '/api/agents', token, {
        name,
        direction,
        phone_id: phone.id,
        prompt_id: promptId(prompt),
        greeting: 'Hello, thanks for calling Acme Voice.',
        voice: 'alloy',
        language: 'en-US',
        media_stream_url: 'wss://agents.acme-voice.example/stream',
      }),
    );
  }
  await call('POST', '/api/message-agents', token, {
    name: 'Order status by text',
    phone_id: sales.id,
    prompt_id: promptId('Order status'),
    auto_reply: 'Thanks! We got your message and will text you back within the hour.',
  });
  for (const [to, hours] of [
    ['+14155550177', 20],
    ['+14155550188', 26],
    ['+14155550199', 50],
  ] as const) {
    await call('POST', '/api/scheduled-calls', token, {
      agent_id: agents[2].id,
      to,
      scheduled_at: new Date(Date.now() + hours * 3600_000).toISOString(),
    });
  }
  {
    const me = await call('GET', '/auth/me', token);
    const ownerId = me.id as string;
    const orgId = me.org.id as string;
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const rows: Insertable<DB['calls']>[] = [];
    for (let day = 29; day >= 0; day--) {
      const perDay = 4 + Math.floor(random() * 10) + (day % 7 < 2 ? -3 : 0);
      for (let i = 0; i < perDay; i++) {
        // Office hours, busiest late morning.
        const hour = 8 + Math.floor((random() + random() + random()) * 3.3);
        const start = new Date(Date.now() - day * 86_400_000);
        start.setHours(hour, Math.floor(random() * 60), Math.floor(random() * 60), 0);
        if (start.getTime() > Date.now()) continue;
        const agent = random() < 0.7 ? agents[0] : agents[1];
        const phone = agent === agents[0] ? sales : support;
        const answered = random() < 0.82;
        const duration = answered ? 20 + Math.floor(random() * 400) : null;
        rows.push({
          id: newId(start.getTime()),
          org_id: orgId,
          call_sid: `CA${newId().replace(/-/g, '')}`,
          phone_id: phone.id,
          agent_id: agent.id,
          scheduled_call_id: null,
          phone_owner_id: ownerId,
          agent_owner_id: ownerId,
          direction: 'inbound' as const,
          from_number: `+1415555${String(1000 + Math.floor(random() * 9000))}`,
          to_number: phone.number,
          status: answered ? ('completed' as const) : ('no-answer' as const),
          started_at: start,
          answered_at: answered ? new Date(start.getTime() + 4000) : null,
          ended_at: new Date(start.getTime() + 4000 + (duration ?? 26) * 1000),
          duration_seconds: duration,
        });
      }
    }
    await withSystem(database, (tx) => tx.insertInto('calls').values(rows).execute());
  }
  // A call in progress and a conversation, through the signed webhooks as Twilio sends them.
  const webhook = (path: string, params: Record<string, string>) =>
    twilioWebhook({ base, config }, path, params);
  const accountSid = config.twilio.accountSid ?? '';
  await webhook('/webhooks/twilio/voice', {
    CallSid: `CA${'c'.repeat(32)}`,
    AccountSid: accountSid,
    From: '+14155550142',
    To: sales.number,
    CallStatus: 'in-progress',
    Direction: 'inbound',
  });
  for (const [i, body] of [
    'Hi, where is order 1042?',
    'It was supposed to arrive yesterday.',
    'Great, thank you!',
  ].entries()) {
    await webhook('/webhooks/twilio/sms', {
      MessageSid: `SM${String(i).repeat(32)}`,
      AccountSid: accountSid,
      From: '+14155550142',
      To: sales.number,
      Body: body,
      NumMedia: '0',
    });
  }
  await webhook('/webhooks/twilio/sms', {
    MessageSid: `SM${'e'.repeat(32)}`,
    AccountSid: accountSid,
    From: '+14155550163',
    To: sales.number,
    Body: 'Can I change my delivery address?',
    NumMedia: '0',
  });
}

/** A Twilio webhook (`path`, e.g. /webhooks/twilio/sms) as Twilio sends it: signed, form-encoded. */
export async function twilioWebhook(
  { base, config }: { base: string; config: Readonly<Config> },
  path: string,
  params: Record<string, string>,
): Promise<void> {
  const signature = twilio.getExpectedTwilioSignature(
    config.twilio.authToken ?? '',
    `${config.publicUrl}${path}`,
    params,
  );
  const res = await fetch(base + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': signature,
    },
    body: new URLSearchParams(params),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

let smsCount = 0;

/** An incoming text from `from` to one of the demo's numbers, through the signed SMS webhook. */
export async function textIn(
  server: { base: string; config: Readonly<Config> },
  { from, to, body }: { from: string; to: string; body: string },
): Promise<void> {
  smsCount += 1;
  await twilioWebhook(server, '/webhooks/twilio/sms', {
    MessageSid: `SM${String(smsCount).padStart(32, 'f')}`,
    AccountSid: server.config.twilio.accountSid ?? '',
    From: from,
    To: to,
    Body: body,
    NumMedia: '0',
  });
}

/** The demo's two verified numbers: the main line and support. */
export const DEMO_NUMBERS = { main: '+14155550100', support: '+14155550111' };
