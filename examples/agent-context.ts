// An agent worker's side of Switchboard's agent API: when a participant joins its LiveKit room,
// the worker loads who they are (the participant's identity is their Switchboard user id) and
// what they asked to be remembered, and its "remember this" tool writes one preference back.
// The worker holds an API key of the org with the scopes `agent:context` and
// `agent:preferences` (and `users:read` to see the participant's email), made by an owner, admin
// or manager. The README shows the two functions between the snippet markers; a test runs them.
//
// Run: SWITCHBOARD_URL=https://switchboard.example.com SWITCHBOARD_API_KEY=sb_… \
//      npx tsx examples/agent-context.ts <participant identity> [key value]

// --- snippet start
export interface ParticipantContext {
  identity: string;
  user: { id: string; full_name: string | null; email?: string };
  org: { id: string; name: string };
  role: 'owner' | 'admin' | 'manager' | 'member';
  preferences: Record<string, string>;
  preferences_digest: string | null;
  /** The participant's latest voice sessions in the org, newest first. */
  voice_sessions: {
    id: string;
    room_name: string;
    status: 'issued' | 'active' | 'ended' | 'expired' | 'revoked';
    started_at: string | null;
    ended_at: string | null;
    duration_seconds: number | null;
  }[];
}

async function agentApi<T>(url: string, apiKey: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  });
  const body = (await res.json()) as T & { code?: string; detail?: string };
  // Errors are problem documents with a stable `code` (404: not a member of the key's org).
  if (!res.ok) throw new Error(`Switchboard ${res.status} ${body.code}: ${body.detail ?? ''}`);
  return body;
}

/** The participant's profile, org, role and preferences (GET /api/agent/context). */
export function loadParticipantContext(
  switchboardUrl: string,
  apiKey: string,
  identity: string,
): Promise<ParticipantContext> {
  const url = `${switchboardUrl}/api/agent/context?identity=${encodeURIComponent(identity)}`;
  return agentApi(url, apiKey);
}

/** The "remember this" tool: sets one preference (null forgets it). */
export function rememberPreference(
  switchboardUrl: string,
  apiKey: string,
  identity: string,
  key: string,
  value: string | null,
): Promise<{ preferences: Record<string, string>; preferences_digest: string | null }> {
  const url = `${switchboardUrl}/api/agent/preferences/${encodeURIComponent(identity)}`;
  return agentApi(url, apiKey, { method: 'PUT', body: JSON.stringify({ key, value }) });
}
// --- snippet end

async function main(): Promise<void> {
  const url = process.env.SWITCHBOARD_URL;
  const key = process.env.SWITCHBOARD_API_KEY;
  const [identity, prefKey, prefValue] = process.argv.slice(2);
  if (!url || !key || !identity) {
    console.error('usage: SWITCHBOARD_URL=… SWITCHBOARD_API_KEY=sb_… agent-context.ts <identity>');
    process.exit(2);
  }
  if (prefKey) await rememberPreference(url, key, identity, prefKey, prefValue ?? null);
  console.log(JSON.stringify(await loadParticipantContext(url, key, identity), null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
