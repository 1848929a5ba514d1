// Which Twilio account serves an org: its own (credentials stored sealed) or the platform's
// (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN). The token signs webhooks and authenticates REST calls.
import type { Config } from '../config.ts';
import { openAuthToken } from './auth-token.ts';

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
  source: 'org' | 'platform';
}

export interface StoredCredentials {
  account_sid: string | null;
  auth_token_enc: string | null;
}

/** The org's account when it has one, else the platform's; null when neither is configured. */
export function accountFor(
  config: Pick<Config, 'encryption' | 'twilio'>,
  orgId: string | null,
  stored: StoredCredentials | undefined,
): TwilioAccount | null {
  if (orgId && stored?.account_sid && stored.auth_token_enc) {
    return {
      accountSid: stored.account_sid,
      authToken: openAuthToken(config, orgId, stored.account_sid, stored.auth_token_enc),
      source: 'org',
    };
  }
  const { accountSid, authToken } = config.twilio;
  return accountSid && authToken ? { accountSid, authToken, source: 'platform' } : null;
}
