// The identity the benchmark acts as.
import type { AppDeps } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import type { Database } from '../src/db/database.ts';
import { withSystem } from '../src/db/tenant.ts';
import { newId } from '../src/http/ids.ts';

export async function seedBenchIdentity(_config: Readonly<Config>, database: Database) {
  const orgId = newId();
  const userId = newId();
  await withSystem(database, async (tx) => {
    await tx.insertInto('orgs').values({ id: orgId, name: 'Bench Co', kind: 'company' }).execute();
    await tx
      .insertInto('users')
      .values({
        id: userId,
        email: `bench-${userId}@example.test`,
        password_hash: null,
        full_name: 'Bench',
      })
      .execute();
    await tx
      .insertInto('memberships')
      .values({ org_id: orgId, user_id: userId, role: 'owner' })
      .execute();
  });
  // Until real tokens exist the benchmark identifies itself the way tests do (never in main.ts).
  const appDeps: Partial<AppDeps> = {
    authenticate: (req) =>
      req.headers['x-bench-user'] === userId
        ? { userId, orgId, role: 'owner', superuser: false }
        : null,
  };
  return { orgId, userId, headers: { 'x-bench-user': userId }, appDeps };
}
