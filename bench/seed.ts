// The identity the benchmark acts as: a real sign-up through the API, so the measured requests
// carry a real EdDSA access token through the real authenticator.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { newId } from '../src/http/ids.ts';

export const BENCH_PASSWORD = 'correct horse battery staple 2026';

export async function seedBenchIdentity(app: FastifyInstance) {
  const email = `loadtest-${Date.now()}@example.test`;
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, password: BENCH_PASSWORD, company_name: 'Bench Co', full_name: 'Q Bench' },
  });
  if (res.statusCode !== 201)
    throw new Error(`bench sign-up failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return {
    email,
    orgId: body.org.id as string,
    userId: body.user.id as string,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

/**
 * `n` answered one-minute inbound calls to `to`, a minute apart and ending now: a call log to
 * read. The phone and its owner are null for calls that reached no number of the org.
 */
export function completedCallRows(
  orgId: string,
  n: number,
  to: { number: string; phoneId: string | null; ownerId: string | null },
) {
  const t0 = Date.now() - n * 60_000;
  return Array.from({ length: n }, (_, i) => ({
    id: newId(t0 + i * 60_000),
    org_id: orgId,
    call_sid: `CA${randomBytes(16).toString('hex')}`,
    phone_id: to.phoneId,
    agent_id: null,
    scheduled_call_id: null,
    phone_owner_id: to.ownerId,
    agent_owner_id: null,
    direction: 'inbound' as const,
    from_number: '+14155550100',
    to_number: to.number,
    status: 'completed' as const,
    started_at: new Date(t0 + i * 60_000),
    answered_at: new Date(t0 + i * 60_000 + 3000),
    ended_at: new Date(t0 + i * 60_000 + 63_000),
    duration_seconds: 60,
  }));
}
