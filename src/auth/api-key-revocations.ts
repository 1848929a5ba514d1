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
import { createRecentSet } from '../infra/recent-set.ts';

/**
 * How long a key revoked here is remembered: a socket that was inside its gate when the key was
 * revoked (looking the key up, opening its device) checks this before it registers, and the
 * watcher's poll covers anything older.
 */
const REMEMBER_MS = 5 * 60_000;

export interface ApiKeyRevocations {
  /** These keys were revoked (committed): tell every listener. Nothing at all for none. */
  add(apiKeyIds: readonly string[]): void;
  /** Revoked on this instance in the last few minutes. */
  isRevoked(apiKeyId: string): boolean;
  /** Returns the unsubscribe function. */
  onRevoked(listener: (apiKeyIds: readonly string[]) => void): () => void;
}

export function createApiKeyRevocations(logger?: Logger): ApiKeyRevocations {
  const listeners = new Set<(apiKeyIds: readonly string[]) => void>();
  const recent = createRecentSet(REMEMBER_MS);
  return {
    add(apiKeyIds) {
      if (apiKeyIds.length === 0) return;
      recent.add(apiKeyIds);
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
    isRevoked: recent.has,
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
