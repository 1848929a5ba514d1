// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Signing-key stages: a rotated-in key is first `next` — published in the JWKS, not yet signing —
// and becomes `active` at `activates_at`, once verifiers that cached the JWKS before the rotation
// have refetched it. The table keeps its row-level security (system context only).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_status_check;
    ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_status_check
      CHECK (status IN ('next', 'active', 'retired'));
    ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
    ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_next_has_time
      CHECK (status <> 'next' OR activates_at IS NOT NULL);
    -- One staged key at a time, like one active key (signing_keys_one_active).
    CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (status) WHERE status = 'next';
  `.execute(db);
}
