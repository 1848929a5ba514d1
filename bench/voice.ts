// Voice benchmark scenarios (bench/run.ts calls voiceScenarios): Twilio status callbacks signed
// like Twilio signs them — each request a new (CallSid, CallStatus), so every one is verified,
// deduplicated and applied for real — and a tenant-scoped list of 20 calls, on the embedded
// database and on PostgreSQL. The target is bench/voice-server.ts in its own process.
import type autocannon from 'autocannon';
import twilio from 'twilio';
import { type LoadRow, measureLoad, startBenchServer } from './kit.ts';

interface Target {
  port: number;
  headers: Record<string, string>;
  publicUrl: string;
  authToken: string;
  number: string;
  stop(): Promise<void>;
}

async function start(dbKind: 'pglite' | 'postgres'): Promise<Target> {
  const server = await startBenchServer<Omit<Target, 'stop'>>('bench/voice-server.ts', [dbKind]);
  return { ...server.info, stop: server.stop };
}

const STATUSES = ['initiated', 'ringing', 'in-progress', 'completed'];

/** Signed status callbacks: four statuses per call, a new call every four requests. */
function statusCallbacks(t: Target) {
  const path = '/webhooks/twilio/status';
  let n = 0;
  return {
    method: 'POST' as const,
    path,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    setupRequest(req: { headers?: Record<string, string>; body?: string }) {
      const i = n++;
      const params: Record<string, string> = {
        AccountSid: `AC${'5'.repeat(32)}`,
        ApiVersion: '2010-04-01',
        CallSid: `CA${Math.floor(i / 4)
          .toString(16)
          .padStart(32, '0')}`,
        CallStatus: STATUSES[i % 4]!,
        Direction: 'inbound',
        From: '+14155550100',
        To: t.number,
        ...(i % 4 === 3 ? { CallDuration: '42' } : {}),
      };
      const signature = twilio.getExpectedTwilioSignature(
        t.authToken,
        `${t.publicUrl}${path}`,
        params,
      );
      return {
        ...req,
        headers: { ...req.headers, 'x-twilio-signature': signature },
        body: new URLSearchParams(params).toString(),
      };
    },
  };
}

async function measure(
  scenario: string,
  t: Target,
  opts: { duration: number; connections: number },
  request: {
    method: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    setupRequest?: unknown;
  },
): Promise<LoadRow> {
  return measureLoad(
    scenario,
    {
      url: `http://127.0.0.1:${t.port}`,
      connections: opts.connections,
      requests: [request as autocannon.Request],
    },
    opts.duration,
  );
}

export async function voiceScenarios(opts: {
  duration: number;
  connections: number;
  postgres: boolean;
}): Promise<LoadRow[]> {
  const rows: LoadRow[] = [];
  for (const kind of ['pglite', ...(opts.postgres ? ['postgres' as const] : [])] as const) {
    const label = kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL';
    const t = await start(kind);
    try {
      rows.push(
        await measure(
          `\`POST /webhooks/twilio/status\` (signed status callbacks, each applied once), ${label}`,
          t,
          opts,
          statusCallbacks(t),
        ),
      );
      rows.push(
        await measure(
          `\`GET /api/calls\` (20 of the org's calls, 11 orgs in the table), ${label}`,
          t,
          opts,
          {
            method: 'GET',
            path: '/api/calls?limit=20',
            headers: t.headers,
          },
        ),
      );
    } finally {
      await t.stop();
    }
  }
  return rows;
}
