// What the token's metadata says about its user beyond who they are: a digest of their
// preferences. Preferences belong to the preferences API; it plugs its function in here (passed
// to createLiveKit in src/routes.ts). Until then tokens carry no digest.
import type { Tx } from '../db/tenant.ts';

export interface TokenContextExtras {
  /** A short digest of the user's remembered preferences, or null when there are none. */
  preferences_digest: string | null;
}

/** Called in the caller's tenant transaction while the token is issued. */
export type ContextForToken = (
  tx: Tx,
  userId: string,
  orgId: string,
) => Promise<TokenContextExtras>;

export const noPreferencesDigest: ContextForToken = async () => ({ preferences_digest: null });
