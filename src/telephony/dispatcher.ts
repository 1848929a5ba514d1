// The scheduled-call dispatcher: a job runner in every instance that places due calls through the
// Twilio REST API. State lives in the database only, so it survives restarts and any number of
// instances can run it at once.
//
// Exactly once, and where that ends:
//   1. Claiming is one statement with FOR UPDATE SKIP LOCKED: two instances never claim the same
//      row. A claim marks the row `dispatching`, mints a fresh dispatch key and takes a lease.
//   2. The key rides in the TwiML and status-callback URLs given to Twilio (signed by Twilio along
//      with the URL). Every outcome write is conditioned on the key, so a stale attempt changes
//      nothing, and any callback for the call settles that very attempt as dispatched — even when
//      the instance that placed it died before recording the call sid.
//   3. A lease that runs out (the instance died) is recovered: a call already logged for the row
//      finishes it as dispatched; otherwise it goes back to the queue (the attempt is held to have
//      placed nothing, and its live-call slot goes back: runOnce). Before placing, a claim also
//      checks for a logged call of an earlier attempt.
//   4. Twilio's REST API takes no idempotency key, so one window remains: the instance dies (or
//      its request times out) after Twilio accepted the call, and no callback for that call
//      reaches any instance before the lease runs out (DISPATCHER_LEASE_SECONDS; Twilio sends the
//      "initiated" callback within seconds when PUBLIC_URL is reachable). Then the call is placed
//      again: at least once, not exactly once, in that case only. An answer without a response
//      (timeout, reset) is treated as "maybe placed" and waits for the lease, never retried at once.
//      The log of a call Twilio accepted is written again when the database refused it for a
//      passing reason (PLACED_WRITE_RETRY_MS): unlogged, the call would fall into that window.
//
// Failures with a definite answer are retried with exponential backoff (DISPATCHER_RETRY_BASE_MS)
// up to DISPATCHER_MAX_ATTEMPTS, then the call is `failed` with the reason; a 4xx from Twilio (a bad
// number, a refused account) fails at once. An outcome the database would not write before the
// request to Twilio was sent (a lock timeout, a deadlock, a lost connection) gives the claim back:
// no call was attempted, so no attempt is spent; the call is due again after
// DISPATCHER_RETRY_BASE_MS (place()).

import type { Logger } from 'pino';
import { recordAudit } from '../audit/audit.ts';
import { DO_NOT_CALL_REASON, dispatchGate } from '../calling-rules/rules.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { isDatabaseBusy, isDatabaseUnavailable } from '../db/errors.ts';
import { type Tx, withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { systemMeta } from '../http/request-meta.ts';
import {
  releaseDispatchSlots,
  releaseUnplacedAttemptSlot,
  takeDispatchSlots,
} from '../quotas/call-slots.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { insertCallIfAbsent, lockCall } from './call-log.repository.ts';
import * as queue from './dispatch.repository.ts';
import { orgInService, withOrgService } from './org-service.ts';
import { accountFor, type TwilioAccount } from './twilio-account.ts';
import { createTwilioClients, type TwilioClientFor } from './twilio-client.ts';
import { RestException } from './twilio-parts.ts';

export interface DispatcherDeps {
  database: Database;
  config: Readonly<Config>;
  logger: Logger;
  /** Tests may count or fail calls at the client; defaults to the real REST client. */
  clientFor?: TwilioClientFor;
  /** The clock the calling window is read with; tests inject one. */
  now?: () => Date;
  /** Concurrency quotas: a live-call slot and one of the day's calls before each placement. */
  quotas?: Quotas;
  /** How the dispatcher waits before writing a placed call again; tests inject one. */
  sleep?: (ms: number) => Promise<void>;
}

type Outcome =
  | { kind: 'retry'; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'unknown'; reason: string };

const MAX_BACKOFF_MS = 3_600_000;
/**
 * The waits before each new try at logging a call Twilio accepted, when the database refused the
 * write for a passing reason (a lock timeout, a deadlock, a lost connection). Unlogged, the call
 * would be placed a second time once the lease runs out unless one of its callbacks got through
 * (and those fail against the same database): a few seconds of tries cover a short outage or
 * lock. A try is only started if it can end (a statement's timeout, and a second) before the
 * claim's lease does: past it, another instance may recover the row and place the call again,
 * and a late log would then be a second call's. So the tries end within the lease, and stop()
 * waits for no more than that.
 */
const PLACED_WRITE_RETRY_MS = [100, 500, 2_000, 5_000] as const;
const DISPATCHER_META = systemMeta('dispatcher');

/** A call refused at claim time by the calling rules is cancelled; the audit log says so. */
function auditRefusal(
  tx: Tx,
  c: { id: string; org_id: string; to_number: string },
  reason: string,
) {
  return recordAudit(tx, DISPATCHER_META, {
    org_id: c.org_id,
    actor_user_id: null,
    actor_type: 'system',
    action: 'scheduled_call.cancel',
    target_type: 'scheduled_call',
    target_id: c.id,
    outcome: 'success',
    metadata: {
      reason: reason === DO_NOT_CALL_REASON ? 'do_not_call' : 'calling_window',
      number: c.to_number,
      at: 'dispatch',
    },
  });
}
/** Network errors that prove the request never reached Twilio. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function clip(s: string): string {
  return s.length > 500 ? `${s.slice(0, 497)}...` : s;
}

/** The REST client could not be built: no request was sent. */
class ClientUnavailable extends Error {
  constructor(cause: unknown) {
    super('Twilio client unavailable', { cause });
  }
}

/** What a failed calls.create means for the next step. Reasons never carry credentials. */
export function classifyDispatchError(err: unknown): Outcome {
  if (err instanceof ClientUnavailable) {
    return { kind: 'retry', reason: 'The Twilio client could not be started (nothing was sent)' };
  }
  if (err instanceof RestException) {
    const reason = clip(`Twilio ${err.status}${err.code ? ` (${err.code})` : ''}: ${err.message}`);
    const permanent = err.status >= 400 && err.status < 500 && ![408, 429].includes(err.status);
    return { kind: permanent ? 'fail' : 'retry', reason };
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && NOT_SENT.has(code)) {
    return { kind: 'retry', reason: `Twilio unreachable (${code})` };
  }
  return {
    kind: 'unknown',
    reason: `No answer from Twilio (${typeof code === 'string' ? code : 'error'})`,
  };
}

export function backoffMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
}

export function createDispatcher(deps: DispatcherDeps) {
  const { database, config, logger } = deps;
  const d = config.dispatcher;
  const clientFor = deps.clientFor ?? createTwilioClients(config);
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const callbackUrl = (path: string, c: queue.ClaimedCall) =>
    `${config.publicUrl}${path}?scheduled_call_id=${c.id}&dispatch_key=${c.dispatch_key}`;

  async function settle(
    c: queue.ClaimedCall,
    write: (tx: Parameters<typeof queue.markFailed>[0]) => Promise<boolean>,
  ) {
    const owned = await withOrgService(database, c.org_id, write);
    if (!owned) {
      logger.warn(
        { scheduled_call_id: c.id, org_id: c.org_id },
        'dispatch outcome not recorded: the attempt no longer owns the call',
      );
    }
  }

  const fail = (c: queue.ClaimedCall, reason: string) =>
    settle(c, (tx) => queue.markFailed(tx, c.org_id, c.id, c.dispatch_key, reason));

  const refuse = (c: queue.ClaimedCall, reason: string) =>
    settle(c, async (tx) => {
      const refused = await queue.markRefused(tx, c.org_id, c.id, c.dispatch_key, reason);
      if (refused) await auditRefusal(tx, c, reason);
      return refused;
    });

  async function hangUp(account: TwilioAccount, c: queue.ClaimedCall, callSid: string) {
    try {
      await (await clientFor(account)).calls(callSid).update({ status: 'completed' });
      logger.warn({ scheduled_call_id: c.id, org_id: c.org_id }, 'call of a suspended org ended');
    } catch {
      // Its webhooks answer "not in service" and hang up once the call is answered.
      logger.error(
        { scheduled_call_id: c.id, org_id: c.org_id },
        'call of a suspended org not ended',
      );
    }
  }

  /**
   * Everything before the request to Twilio: an earlier attempt's call, the calling rules, the
   * agent and its number, the account, the quotas. Returns the account to place the call with, or
   * null once the attempt's outcome is written (nothing to place).
   */
  async function prepare(c: queue.ClaimedCall): Promise<TwilioAccount | null> {
    if (c.placed_call_sid) {
      // An earlier attempt's call was logged by its callbacks: it was placed. Never again.
      const sid = c.placed_call_sid;
      await settle(c, (tx) => queue.markDispatched(tx, c.org_id, c.id, c.dispatch_key, sid));
      return null;
    }
    // Calling rules: a listed number is cancelled; outside the window the call waits for it.
    const gate = dispatchGate(c, now());
    if (gate.kind === 'refuse') {
      await refuse(c, gate.reason);
      return null;
    }
    if (gate.kind === 'defer') {
      await settle(c, (tx) =>
        queue.markWindowDeferred(tx, c.org_id, c.id, c.dispatch_key, gate.until, gate.window),
      );
      return null;
    }
    if (!c.agent_usable || c.agent_direction !== 'outgoing') {
      await fail(c, 'The agent was deleted, deactivated or no longer places calls');
      return null;
    }
    if (!c.agent_streams) {
      // Answered, the call would hear "no agent" and end: the callee's phone rang for nothing.
      await fail(c, 'The agent has no media_stream_url: the call would reach no agent');
      return null;
    }
    if (!c.phone_usable) {
      await fail(c, "The agent's phone number was deleted, deactivated or is not verified");
      return null;
    }
    let account: ReturnType<typeof accountFor>;
    try {
      account = accountFor(config, c.org_id, c);
    } catch {
      await fail(c, "The org's Twilio credentials cannot be opened");
      return null;
    }
    if (!account) {
      await fail(c, 'Twilio is not configured for this organization');
      return null;
    }
    // The org's quotas: refused → the call waits, neither failed nor counted as an attempt.
    const slot = await takeDispatchSlots(deps.quotas, c.org_id, c.id, c.dispatch_key);
    if (!slot.ok) {
      await settle(c, (tx) =>
        queue.markDeferred(tx, c.org_id, c.id, c.dispatch_key, slot.retryAt, slot.reason),
      );
      return null;
    }
    return account;
  }

  /**
   * One claimed call. Until the request to Twilio is sent no call has been attempted, so an
   * outcome the database would not write then (a lock not had within DATABASE_LOCK_TIMEOUT_MS —
   * the calling window's row held by an admin's change, the call's row by a person's edit — a
   * deadlock, a lost connection: isDatabaseBusy / isDatabaseUnavailable) gives the claim back:
   * the call is due again, its attempt not spent, instead of waiting in `dispatching` for its
   * lease to run out and then counting as a failed attempt. Any other error is left to the lease
   * (a fault that would recur must not retry at every poll for ever).
   *
   * The call given back is due again after DISPATCHER_RETRY_BASE_MS (the wait before a first
   * retry; it does not grow, as no attempt is spent), not at once: the write may fail again for as
   * long as the lock is held or the database stays busy, and a call due at once keeps its earliest
   * due time, so every pass would claim it first — a batch of them would fill every batch, loop()
   * would run again at once (a full batch), and other orgs' due calls would wait. Put off, the
   * call goes behind every call already due, and the pass run at once after a full batch of them
   * claims those instead (or nothing: then the loop waits its poll interval). Each such call is
   * tried at most once per DISPATCHER_RETRY_BASE_MS.
   */
  async function place(c: queue.ClaimedCall, claimedAt: number): Promise<void> {
    let account: TwilioAccount | null;
    try {
      account = await prepare(c);
    } catch (err) {
      if (!isDatabaseBusy(err) && !isDatabaseUnavailable(err)) throw err;
      logger.warn(
        { err, scheduled_call_id: c.id, org_id: c.org_id },
        'dispatch outcome not written before placing: the claim is given back',
      );
      return settle(c, (tx) =>
        queue.releaseClaim(tx, c.org_id, c.id, c.dispatch_key, d.retryBaseMs),
      );
    }
    if (account) await request(c, account, claimedAt);
  }

  /** The request to Twilio and its outcome: from here on the call may have been placed. */
  async function request(
    c: queue.ClaimedCall,
    account: TwilioAccount,
    claimedAt: number,
  ): Promise<void> {
    let callSid: string;
    let status: string;
    try {
      // A client that cannot be had (the package failed to load) sent nothing: a definite
      // failure, retried with backoff like an unreachable Twilio, not a "maybe placed" call left
      // to its lease (which would spend the attempt and hold its live-call slot meanwhile).
      const client = await Promise.resolve()
        .then(() => clientFor(account))
        .catch((err: unknown) => {
          throw new ClientUnavailable(err);
        });
      const call = await client.calls.create({
        to: c.to_number,
        from: c.phone_number,
        url: callbackUrl('/webhooks/twilio/voice', c),
        method: 'POST',
        statusCallback: callbackUrl('/webhooks/twilio/status', c),
        statusCallbackMethod: 'POST',
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      });
      callSid = call.sid;
      status = call.status;
    } catch (err) {
      const outcome = classifyDispatchError(err);
      logger.warn(
        { scheduled_call_id: c.id, org_id: c.org_id, attempt: c.attempts, outcome: outcome.kind },
        `scheduled call not placed: ${outcome.reason}`,
      );
      // Maybe placed: the lease decides (see above); the attempt keeps its slots, as its call may
      // be live (a retry takes slots of its own: call-slots.ts).
      if (outcome.kind === 'unknown') return;
      await releaseDispatchSlots(deps.quotas, c.org_id, c.id, c.dispatch_key); // surely not placed
      if (outcome.kind === 'fail' || c.attempts >= d.maxAttempts) return fail(c, outcome.reason);
      const next = new Date(Date.now() + backoffMs(c.attempts, d.retryBaseMs));
      return settle(c, (tx) =>
        queue.markRetry(tx, c.org_id, c.id, c.dispatch_key, outcome.reason, next),
      );
    }

    // The kill switch's race: an org suspended while Twilio was placing this call. The org row is
    // share-locked before the call is logged, so a suspension either committed first (seen here:
    // the call is hung up below) or waits for this commit (and then finds the call live and ends
    // it). Either way no call of a suspended org stays up.
    let suspended = false;
    const logPlaced = () =>
      settle(c, async (tx) => {
        // The call's lock first, as its webhooks take it (a callback may already be arriving).
        await lockCall(tx, callSid);
        suspended = !(await orgInService(tx, c.org_id));
        await insertCallIfAbsent(tx, {
          id: newId(),
          org_id: c.org_id,
          call_sid: callSid,
          phone_id: c.phone_id,
          agent_id: c.agent_id,
          scheduled_call_id: c.id,
          phone_owner_id: c.phone_owner_id,
          agent_owner_id: c.agent_owner_id,
          direction: 'outbound',
          from_number: c.phone_number,
          to_number: c.to_number,
          status: status === 'initiated' || status === 'ringing' ? status : 'queued',
          answered_at: null,
          ended_at: null,
          duration_seconds: null,
        });
        // A callback may have settled this attempt first (same key, same sid): that is success too.
        return (
          (await queue.markDispatched(tx, c.org_id, c.id, c.dispatch_key, callSid)) ||
          (await queue.isDispatchedBy(tx, c.org_id, c.id, c.dispatch_key))
        );
      });
    // Idempotent (the call inserted if absent, the row settled by this attempt's key): written
    // again after a passing refusal, so the call is not placed twice for want of its log; never
    // past the lease (PLACED_WRITE_RETRY_MS).
    const lastStart = claimedAt + d.leaseSeconds * 1000 - config.database.statementTimeoutMs - 1000;
    for (let tries = 0; ; tries++) {
      try {
        await logPlaced();
        break;
      } catch (err) {
        const wait = PLACED_WRITE_RETRY_MS[tries];
        if (wait === undefined || (!isDatabaseBusy(err) && !isDatabaseUnavailable(err))) throw err;
        if (Date.now() + wait > lastStart) throw err;
        logger.warn(
          { err, scheduled_call_id: c.id, org_id: c.org_id, call_sid: callSid, retry: tries + 1 },
          'placed call not logged yet: writing it again',
        );
        await sleep(wait);
      }
    }
    if (suspended) await hangUp(account, c, callSid);
  }

  /** One pass: recover expired leases, claim a batch, place it. Returns how many were claimed. */
  async function runOnce(): Promise<number> {
    const recovered = await withSystem(database, (tx) =>
      queue.recoverExpiredLeases(tx, d.batchSize, d.maxAttempts),
    );
    for (const r of recovered) {
      logger.warn(
        { scheduled_call_id: r.id, org_id: r.org_id, status: r.status },
        'scheduled call lease expired: recovered',
      );
      // No call logged for the attempt: it is held to have placed nothing (the call is placed
      // again, or failed), so its live-call slot goes back with that decision; one left to
      // QUOTA_LEASE_SECONDS would count a call that does not exist, while the retry takes a slot
      // of its own. A row finished as dispatched keeps its slot until its call's status callback.
      if (r.status !== 'dispatched' && r.dispatch_key) {
        await releaseUnplacedAttemptSlot(deps.quotas, r.org_id, r.id, r.dispatch_key);
      }
    }
    // Reviewed system-path use: the queue spans every org; each outcome is written in its own org.
    // Taken before the claim: the lease runs from a moment no earlier than this.
    const claimedAt = Date.now();
    const claimed = await withSystem(database, (tx) =>
      queue.claimDueCalls(tx, d.batchSize, d.leaseSeconds),
    );
    await Promise.all(
      claimed.map((c) =>
        place(c, claimedAt).catch((err) =>
          logger.error({ err, scheduled_call_id: c.id }, 'scheduled call dispatch failed'),
        ),
      ),
    );
    return claimed.length;
  }

  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;

  function schedule(ms: number) {
    timer = setTimeout(() => {
      current = loop().finally(() => {
        current = undefined;
      });
    }, ms);
  }

  async function loop() {
    let full = false;
    try {
      full = (await runOnce()) >= d.batchSize;
    } catch (err) {
      logger.error({ err }, 'dispatcher pass failed; will retry');
    }
    if (!stopped) schedule(full ? 0 : d.pollMs);
  }

  return {
    runOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Stop polling and wait for the pass in flight (its calls are recorded before it returns). */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
