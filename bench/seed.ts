// The identity the benchmark acts as: a real sign-up through the API, so the measured requests
// carry a real EdDSA access token through the real authenticator.
import type { FastifyInstance } from 'fastify';

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
