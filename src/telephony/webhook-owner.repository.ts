// The ONE cross-tenant read of telephony webhooks (run on the system path by webhook-owner.ts):
// before a webhook is trusted, find the org it belongs to, so its signature can be checked with
// that org's auth token. It reads an org id and that org's sealed credentials, nothing else.
import { sql } from 'kysely';
import type { Tx } from '../db/tenant.ts';

export interface OwnerKey {
  /** From our own callback URLs (dispatched calls). */
  scheduledCallId?: string;
  /** A call or message we already logged (status callbacks, retries). */
  callSid?: string;
  messageSid?: string;
  /**
   * Our number: the org where it is verified and active routes the call or message. A number only
   * registered (pending_verification) routes nowhere, so registering someone else's number gets
   * none of its calls; the unique index phones_number_verified_once makes the answer unique.
   */
  number?: string;
}

export interface OwnerRow {
  org_id: string | null;
  /** The org is suspended (the kill switch): its webhooks are answered and nothing is stored. */
  suspended: boolean;
  account_sid: string | null;
  auth_token_enc: string | null;
}

/**
 * The first key that names a row decides the org, in this order: a row we created (scheduled
 * call, call, message) outranks the number's current routing, so a call keeps its org even if
 * the number moves while it is going on.
 *
 * Threat: the scheduled call id is a query parameter, and an org with its own Twilio account can
 * sign any request with its own token. Naming one of its own scheduled calls beside another
 * org's CallSid made it the owner of that call's status callback, whose event then took the
 * (CallSid, status) key and froze the other org's call. A CallSid we logged must belong to the
 * same org as the scheduled call named with it: when they disagree nobody owns the request, and
 * its signature is checked against no org's token (403).
 */
export async function findOwner(tx: Tx, key: OwnerKey): Promise<OwnerRow> {
  const { rows } = await sql<OwnerRow>`
    SELECT o.org_id, c.account_sid, c.auth_token_enc,
      coalesce((SELECT suspended_at IS NOT NULL FROM orgs WHERE id = o.org_id), false) AS suspended
    FROM (
      SELECT CASE WHEN k.scheduled <> k.call THEN NULL
        ELSE coalesce(k.scheduled, k.call, k.message, k.routed) END AS org_id
      FROM (SELECT
        (SELECT org_id FROM scheduled_calls WHERE id = ${key.scheduledCallId ?? null}::uuid)
          AS scheduled,
        (SELECT org_id FROM calls WHERE call_sid = ${key.callSid ?? null}::text) AS call,
        (SELECT org_id FROM messages WHERE message_sid = ${key.messageSid ?? null}::text)
          AS message,
        (SELECT org_id FROM phones
          WHERE number = ${key.number ?? null}::text AND active AND deleted_at IS NULL
            AND verification_status = 'verified') AS routed
      ) k
    ) o
    LEFT JOIN org_twilio_credentials c ON c.org_id = o.org_id AND c.deleted_at IS NULL
  `.execute(tx);
  return rows[0] ?? { org_id: null, suspended: false, account_sid: null, auth_token_enc: null };
}
