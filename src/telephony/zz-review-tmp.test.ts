import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
});
afterAll(async () => t?.close?.());

describe('analytics tz', () => {
  it('a zone Intl knows but PostgreSQL does not', async () => {
    for (const url of [
      '/api/analytics/calls-by-date?tz=US/Pacific-New',
      '/api/analytics/calls-by-hour?tz=US/Pacific-New',
      '/api/analytics/agent-summary?tz=US/Pacific-New',
      '/api/analytics/voice-sessions?tz=US/Pacific-New',
    ]) {
      const r = await t.app.inject({ url, headers: as(a.owner, a.org, 'owner') });
      console.log(url, r.statusCode, r.body.slice(0, 200));
    }
  });
});
