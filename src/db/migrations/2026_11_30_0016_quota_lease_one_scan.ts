// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// app_acquire_quota_lease in one pass over the org's leases of the kind: the live count, whether
// this lease is held and whether any expired lease lingers come from one scan of the
// (org_id, kind, …) index, where the first version scanned three times (delete the expired,
// look for the lease, count). Expired leases are deleted only when the scan saw one (rare: a
// lease expires only when its end event never came). Same contract: the per-org, per-kind
// transaction lock first; a held (unexpired) lease is renewed whatever the count; otherwise the
// lease is added below the limit (over an expired row of the same id, if one lingers); the commit
// does not wait for the disk.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION app_acquire_quota_lease(p_kind text, p_lease_id text,
                                                       p_limit integer,
                                                       p_expires_at timestamptz, p_now timestamptz)
      RETURNS TABLE (acquired boolean, live integer) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      org uuid := app_org_id();
      held boolean;
      n integer;
      stale integer;
    BEGIN
      IF org IS NULL THEN
        RAISE EXCEPTION 'quota lease without an org context' USING ERRCODE = '42501';
      END IF;
      PERFORM set_config('synchronous_commit', 'off', true);
      PERFORM pg_advisory_xact_lock(70170014, hashtext(org::text || ':' || p_kind));
      SELECT count(*) FILTER (WHERE q.expires_at > p_now),
             coalesce(bool_or(q.lease_id = p_lease_id AND q.expires_at > p_now), false),
             count(*) FILTER (WHERE q.expires_at <= p_now)
        INTO n, held, stale
        FROM quota_leases q WHERE q.org_id = org AND q.kind = p_kind;
      IF stale > 0 THEN
        DELETE FROM quota_leases q
          WHERE q.org_id = org AND q.kind = p_kind AND q.expires_at <= p_now;
      END IF;
      IF held THEN
        UPDATE quota_leases q SET expires_at = greatest(q.expires_at, p_expires_at)
          WHERE q.org_id = org AND q.kind = p_kind AND q.lease_id = p_lease_id;
        RETURN QUERY SELECT true, n;
        RETURN;
      END IF;
      IF n >= p_limit THEN
        RETURN QUERY SELECT false, n;
        RETURN;
      END IF;
      INSERT INTO quota_leases (org_id, kind, lease_id, expires_at)
        VALUES (org, p_kind, p_lease_id, p_expires_at);
      RETURN QUERY SELECT true, n + 1;
    END $$;
  `.execute(db);
}
