// How long the published key set may be stale anywhere, which decides when a rotated-in key may
// start signing (see src/auth/signing-keys.ts).

/** Verifiers may cache /.well-known/jwks.json this long (its Cache-Control max-age). */
export const JWKS_MAX_AGE_SECONDS = 300;

/** Every instance re-reads the key ring from the database at least this often. */
export const KEY_RING_RELOAD_SECONDS = 30;

/**
 * A staged key is in every instance's JWKS within one reload interval of the rotation, and a
 * verifier that fetched the set just before that keeps it for max-age: only after both may the
 * key sign, or that verifier rejects fresh tokens.
 */
export const DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS =
  JWKS_MAX_AGE_SECONDS + KEY_RING_RELOAD_SECONDS;
