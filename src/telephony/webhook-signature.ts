// X-Twilio-Signature: HMAC-SHA1 by the account's auth token over the exact URL Twilio requested
// plus the sorted POST parameters, checked with the `twilio` package (constant-time compare).
// The URL is rebuilt from PUBLIC_URL, never from the Host header a caller controls: a request
// signed for any other URL (an old domain, a copied request) fails.
import { validateRequest } from './twilio-parts.ts';

const MAX_SIGNATURE_LENGTH = 128;

export function webhookUrl(publicUrl: string, requestUrl: string): string {
  return `${publicUrl}${requestUrl}`;
}

export function isValidTwilioSignature(
  authToken: string,
  signature: unknown,
  url: string,
  params: Record<string, unknown>,
): boolean {
  if (typeof signature !== 'string' || signature.length === 0) return false;
  if (signature.length > MAX_SIGNATURE_LENGTH) return false;
  return validateRequest(authToken, signature, url, params);
}
