// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// At most one open invitation per address into an org, as the database's rule. Inviting an
// address again revoked its pending invitation and then inserted the new one, but two admins
// inviting the same address at the same moment each found nothing to revoke and each inserted:
// two live links. The service now serialises invitations of one address (src/orgs/invitations.ts
// stageInvitation); this index is the invariant it keeps, and what any other writer runs into.
//
// Open = neither accepted nor revoked. Expiry is a time, not a state an index predicate can see: an
// expired, never-revoked invitation stays open here, and inviting its address again closes it
// (revoked) with the live ones before the new row is written. The email is compared exactly as the
// code compares it (it stores the normalised address: trimmed, NFKC, lower-cased), so the index and
// the re-invite's revoke agree on what "the same address" is.
//
// Before the index: where an address already has several open invitations into an org, the newest
// (created_at, then id) is kept and the older ones are revoked, as a re-invite would have revoked
// them, with no revoker (the system's act; the column is nullable, as for an invitation whose
// inviter lost the authority to send it). Their links answer 410 invitation_revoked.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Row-level security is forced on the table owner too: the data fix acts as the system.
    SELECT set_config('app.system', 'on', true);
    UPDATE invitations i
       SET revoked_at = now(), revoked_by = NULL
     WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL
       AND EXISTS (SELECT 1 FROM invitations n
                    WHERE n.org_id = i.org_id AND n.email = i.email
                      AND n.accepted_at IS NULL AND n.revoked_at IS NULL
                      AND (n.created_at, n.id) > (i.created_at, i.id));
    SELECT set_config('app.system', '', true);

    CREATE UNIQUE INDEX invitations_one_open_per_address ON invitations (org_id, email)
      WHERE accepted_at IS NULL AND revoked_at IS NULL;
  `.execute(db);
}
