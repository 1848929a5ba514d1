// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A signing key can be withdrawn: after a compromise, a retired key that stays published and
// verifying until its tokens expire lets whoever holds its private key mint tokens (any user,
// role or org) for that long. A withdrawn key is neither published nor trusted, from the next
// key reload of each instance.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE signing_keys ADD COLUMN withdrawn_at timestamptz;
    ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_withdrawn_retired
      CHECK (withdrawn_at IS NULL OR status = 'retired');
  `.execute(db);
}
