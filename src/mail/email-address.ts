// One canonical form per address, so "Alice@Example.com", " alice@example.com " and its
// full-width spelling are one account: no duplicate sign-ups and no look-alike login names.
// Plausibility only (RFC 5321 sizes, one "@", a dotted domain); ownership is proven by the
// verification mail, not here.

const MAX_ADDRESS_OCTETS = 254;
const MAX_LOCAL_PART_OCTETS = 64;
const MAX_LABEL_OCTETS = 63;

// Whitespace, separators and invisible/control code points (e.g. zero-width space, bidi
// overrides) would let two addresses look identical on screen.
const INVISIBLE_OR_SPACE = /[\s\p{Z}\p{C}]/u;

function octets(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function isPlausibleDomain(domain: string): boolean {
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => l !== '' && octets(l) <= MAX_LABEL_OCTETS);
}

/** Trimmed, NFKC, lower-cased address, or null when it cannot be an email address. */
export function normalizeEmail(raw: string): string | null {
  const email = raw.normalize('NFKC').trim().toLowerCase();
  if (octets(email) > MAX_ADDRESS_OCTETS || INVISIBLE_OR_SPACE.test(email)) return null;
  const parts = email.split('@');
  if (parts.length !== 2) return null;
  const [local, domain] = parts as [string, string];
  if (local === '' || octets(local) > MAX_LOCAL_PART_OCTETS) return null;
  return isPlausibleDomain(domain) ? email : null;
}
