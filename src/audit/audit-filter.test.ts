// The audit log's action filter takes an action's name or a prefix of whole segments then `.*`.
// Any other wildcard (`*`, `a*`, `auth.lo*`) matched nothing and answered an empty trail, which
// reads as "nothing happened": it is a 400 naming the field instead.
import { beforeAll, describe, expect, it } from 'vitest';
import { appForFile, as } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';

const t = appForFile({ headerAuth: true });
let headers: Record<string, string>;
beforeAll(async () => {
  const a = await createTeam(t.database);
  headers = as(a.owner, a.org, 'owner');
});

const list = (action: string) =>
  t.app.inject({ url: `/api/audit-logs?action=${encodeURIComponent(action)}`, headers });

describe('GET /api/audit-logs?action=', () => {
  it.each(['*', '**', 'a*', 'auth.lo*', '.*', 'auth.', 'auth..login', 'auth.*.*', '%', 'auth.*x'])(
    '%s is refused: 400 on action',
    async (action) => {
      const res = await list(action);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: 'action' }],
      });
    },
  );

  it.each(['auth.login', 'auth.*', 'scheduled_call.create', 'invitation.*'])(
    '%s lists',
    async (action) => {
      const res = await list(action);
      expect(res.statusCode, res.body).toBe(200);
      expect(Array.isArray(res.json().items)).toBe(true);
    },
  );
});
