// An org's Twilio auth token at rest: sealed with AES-256-GCM under the rotating encryption keys,
// its AAD bound to the org and the account, so a sealed token copied onto another org's row (or
// paired with another account SID) fails to open.
import type { Config } from '../config.ts';
import { decryptSecret, encryptSecret } from '../crypto/encryption.ts';

const aad = (orgId: string, accountSid: string) => `twilio_auth_token:${orgId}:${accountSid}`;

export function sealAuthToken(
  config: Pick<Config, 'encryption'>,
  orgId: string,
  accountSid: string,
  token: string,
): string {
  return encryptSecret(token, config.encryption, aad(orgId, accountSid));
}

/** Throws (without revealing anything) when the blob was tampered with or moved. */
export function openAuthToken(
  config: Pick<Config, 'encryption'>,
  orgId: string,
  accountSid: string,
  sealed: string,
): string {
  return decryptSecret(sealed, config.encryption, aad(orgId, accountSid)).toString('utf8');
}
