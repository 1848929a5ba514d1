// API keys that stopped working for good: revoked by DELETE /api/api-keys/{id}, or with their
// creator (removed from the org, account disabled, mailbox proven by someone else). A key is
// checked at each request, so requests need nothing from this; what outlasts a request does —
// device sockets a key opened, LiveKit participants that joined with tokens it minted. This
// instance tells them at once, after the revoking transaction committed; other instances find the
// keys at their next look (device sockets: every REVOCATION_POLL_MS; LiveKit: its sweep).
//
// Invariant: a listener that throws is logged (its message only), never stops the others, and
// never fails the request that revoked the key (the revocation is already committed).
import type { Logger } from 'pino';

export interface ApiKeyRevocations {
  /** These keys were revoked (committed): tell every listener. Nothing at all for none. */
  add(apiKeyIds: readonly string[]): void;
  /** Returns the unsubscribe function. */
  onRevoked(listener: (apiKeyIds: readonly string[]) => void): () => void;
}

export function createApiKeyRevocations(logger?: Logger): ApiKeyRevocations {
  const listeners = new Set<(apiKeyIds: readonly string[]) => void>();
  return {
    add(apiKeyIds) {
      if (apiKeyIds.length === 0) return;
      for (const listener of listeners) {
        try {
          listener(apiKeyIds);
        } catch (err) {
          logger?.error(
            { err: { message: (err as Error).message } },
            'api key revocation listener failed',
          );
        }
      }
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
