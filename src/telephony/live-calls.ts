// Hanging up an org's live calls through the Twilio REST API (the kill switch, src/suspension/):
// `calls(sid).update({ status: 'completed' })` on the account that carries them. The list is read
// in the caller's transaction (`liveCalls`); the hang-ups run after it commits (`endCalls`), one
// request per call, and a failure is counted, never thrown: the suspension stands either way, and
// the org's webhooks already answer "not in service".
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Tx } from '../db/tenant.ts';
import { liveCallSidsOfOrg } from './live-calls.repository.ts';
import { accountFor, type TwilioAccount } from './twilio-account.ts';
import { createTwilioClients, type TwilioClientFor } from './twilio-client.ts';
import { findSealedCredentials } from './twilio-credentials.repository.ts';

export interface LiveCalls {
  orgId: string;
  callSids: string[];
  /** null: no account is configured (or its token no longer opens); nothing can be ended. */
  account: TwilioAccount | null;
}

export async function liveCalls(
  tx: Tx,
  config: Pick<Config, 'encryption' | 'twilio'>,
  orgId: string,
): Promise<LiveCalls> {
  const callSids = await liveCallSidsOfOrg(tx, orgId);
  if (callSids.length === 0) return { orgId, callSids, account: null };
  let account: TwilioAccount | null = null;
  try {
    account = accountFor(config, orgId, await findSealedCredentials(tx, orgId));
  } catch {
    account = null;
  }
  return { orgId, callSids, account };
}

export function createCallEnder(config: Pick<Config, 'twilio'>, logger?: Logger) {
  const clientFor: TwilioClientFor = createTwilioClients(config);
  return async function endCalls(live: LiveCalls): Promise<{ ended: number; failed: number }> {
    if (live.callSids.length === 0) return { ended: 0, failed: 0 };
    if (!live.account) {
      logger?.error({ org_id: live.orgId }, 'live calls not ended: no Twilio account');
      return { ended: 0, failed: live.callSids.length };
    }
    const account = live.account;
    const results = await Promise.allSettled(
      live.callSids.map(async (sid) =>
        (await clientFor(account)).calls(sid).update({ status: 'completed' }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) {
      logger?.warn({ org_id: live.orgId, failed }, 'some live calls were not ended');
    }
    return { ended: results.length - failed, failed };
  };
}

export type CallEnder = ReturnType<typeof createCallEnder>;
