// A member's remembered preferences: a flat map of string keys to string values, kept per
// membership (what a person tells one org's agents stays in that org). People read and replace
// their own map (/api/users/me/preferences); agent workers read it with the agent context and
// write one key at a time through src/agent-context/ (the org service context).
//
// Invariants:
// - Every stored map passes checkPreferences: key charset and length, non-empty values of bounded
//   length, a bounded number of keys and total size. A refused write changes nothing (422
//   `invalid_preferences`, every broken rule named in `errors`).
// - The total size is counted as stored (the map's JSON, escapes included), so a map that passes
//   never reaches the column's own CHECK (a 500): see jsonBytes.
// - The digest hashes the entries in code-point order whatever the keys: see digestOf.
// - Writes lock the row (created empty first), so concurrent writes of different keys never drop
//   one another; each write and its audit record commit together.
// - A write is made only for an active member, judged under the org row's share lock: removing a
//   member (src/orgs/members.ts) deletes their map under that row's exclusive lock, so a write
//   racing it either commits first (and is deleted) or finds no membership (nothing written).
// - The audit log names keys, never values: values are what the user said, and may be personal.
import { createHash } from 'node:crypto';
import { isPerson } from '../access/actor.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { codePointLength } from '../infra/text.ts';
import {
  activeMemberUnderOrgLock,
  ensurePreferencesRow,
  findPreferences,
  type PreferenceMap,
  savePreferences,
} from './preference.repository.ts';

export type { PreferenceMap };

/** The rules every stored map obeys (README: Preferences). */
export const PREFERENCE_LIMITS = Object.freeze({
  /** Keys per membership. */
  maxKeys: 50,
  /** Characters of a key. */
  maxKeyLength: 64,
  /** Characters (code points) of a value. */
  maxValueLength: 1000,
  /** UTF-8 bytes of the whole map as compact JSON (jsonBytes). */
  maxTotalBytes: 16 * 1024,
});

/** Letters, digits, `_`, `.` and `-`, starting with a letter or digit: safe in any agent prompt. */
export const PREFERENCE_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
const KEY = new RegExp(PREFERENCE_KEY_PATTERN);

export interface FieldError {
  field: string;
  message: string;
  rule: string;
}

/** Characters of a key shown in an error before it is cut. */
const SHOWN_MAX = 80;
// Line breaks (\n, \r, U+0085, U+2028, U+2029) and every other control character.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A key as it may be echoed in an error (`field`, and the problem's `detail`): one line, its first
 * 80 characters, control characters and line breaks written as `\uXXXX`. A refused key is the
 * caller's text: raw, it could add lines to a log or to an agent prompt that shows the error.
 */
function shown(key: string): string {
  let cut = '';
  let n = 0;
  for (const ch of key) {
    if (n++ === SHOWN_MAX) {
      cut += '…';
      break;
    }
    cut += ch;
  }
  return cut.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function keyErrors(key: string, field: string): FieldError[] {
  if (key.length === 0 || key.length > PREFERENCE_LIMITS.maxKeyLength)
    return [
      {
        field,
        message: `must be 1 to ${PREFERENCE_LIMITS.maxKeyLength} characters`,
        rule: 'key_length',
      },
    ];
  if (!KEY.test(key))
    return [
      {
        field,
        message:
          'may contain only letters, digits, "_", "." and "-", starting with a letter or digit',
        rule: 'key_charset',
      },
    ];
  return [];
}

export function valueErrors(value: string, field: string): FieldError[] {
  if (value.trim().length === 0)
    return [{ field, message: 'must not be empty (remove the key instead)', rule: 'value_empty' }];
  if (codePointLength(value) > PREFERENCE_LIMITS.maxValueLength)
    return [
      {
        field,
        message: `must be at most ${PREFERENCE_LIMITS.maxValueLength} characters`,
        rule: 'value_length',
      },
    ];
  return [];
}

/**
 * The size rule's measure: the UTF-8 bytes of the map as compact JSON (`{"key":"value",…}`), JSON's
 * escapes included (a control character is the 6 bytes `\u0001`) — what the column stores, not the
 * raw text, which undercounts it up to sixfold.
 *
 * Why a map that passes never reaches the column's CHECK (octet_length(preferences::text) <=
 * 65536): jsonb's text is this same serialisation — PostgreSQL escapes what JSON.stringify
 * escapes (`"` and `\` and \b \f \n \r \t as 2 bytes, the other characters below U+0020 as
 * 6), writes everything else as UTF-8, and only reorders keys — plus one space after each `:` and
 * after each `,`, so 2n − 1 bytes for n keys. With n <= maxKeys (50) and this measure <=
 * maxTotalBytes (16384), the stored text is at most 16384 + 99 bytes. (JSON.stringify would write
 * a lone surrogate as 6 bytes where the database has none: validation refuses those first.)
 */
export const jsonBytes = (map: PreferenceMap): number =>
  Buffer.byteLength(JSON.stringify(map), 'utf8');

/** The rules of a whole map: count and total size (each entry is checked on its own first). */
export function mapErrors(map: PreferenceMap, field: string): FieldError[] {
  const count = Object.keys(map).length;
  const out: FieldError[] = [];
  if (count > PREFERENCE_LIMITS.maxKeys)
    out.push({
      field,
      message: `at most ${PREFERENCE_LIMITS.maxKeys} preferences (${count} given)`,
      rule: 'max_keys',
    });
  const bytes = jsonBytes(map);
  if (bytes > PREFERENCE_LIMITS.maxTotalBytes)
    out.push({
      field,
      message: `must be at most ${PREFERENCE_LIMITS.maxTotalBytes} bytes as JSON (${bytes} given)`,
      rule: 'max_total_bytes',
    });
  return out;
}

/**
 * Every rule a whole map breaks, each entry's key as its field. A value that is not a string is
 * not a broken rule but a body of the wrong shape (400 `validation_failed`, as the route's schema
 * answers): refused here too, so no schema gap lets it reach code that reads strings.
 */
export function checkPreferences(map: PreferenceMap): FieldError[] {
  const out = mapErrors(map, '(body)');
  // The count is checked first: a map of too many keys is refused without checking each entry.
  if (out.some((e) => e.rule === 'max_keys')) return out;
  for (const [key, value] of Object.entries(map)) {
    if (typeof value !== 'string')
      throw new AppError('validation_failed', 'Every preference value must be a string', {
        errors: [{ field: shown(key), message: 'must be a string' }],
      });
    out.push(...keyErrors(key, shown(key)), ...valueErrors(value, shown(key)));
  }
  return out.slice(0, 20);
}

export function refuse(errors: FieldError[]): never {
  throw new AppError(
    'invalid_preferences',
    errors.length === 1
      ? `${errors[0]?.field}: ${errors[0]?.message}`
      : `${errors.length} preference rules are broken`,
    { errors },
  );
}

/** Orders strings by Unicode code point (String's `<` compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = a[Symbol.iterator]();
  const y = b[Symbol.iterator]();
  for (;;) {
    const p = x.next();
    const q = y.next();
    if (p.done || q.done) return (p.done ? 0 : 1) - (q.done ? 0 : 1);
    const d = (p.value.codePointAt(0) ?? 0) - (q.value.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
}

/** The entries in code-point order of their keys. */
const sortedEntries = (map: PreferenceMap) =>
  Object.entries(map).sort(([a], [b]) => byCodePoint(a, b));

/**
 * The map with its keys inserted in code-point order: the order answers list them in, except that
 * a JavaScript object (and so its JSON) puts integer-like keys (`2`, `10`) first, in numeric
 * order, whatever the insertion order. The API promises no order; the digest never goes through an
 * object.
 */
export function sorted(map: PreferenceMap): PreferenceMap {
  const out: PreferenceMap = {};
  for (const [key, value] of sortedEntries(map)) out[key] = value;
  return out;
}

/**
 * The digest of a map: sha256 over its entries in code-point order of their keys (the JSON array
 * `[["key","value"],…]`, UTF-8), base64url, 16 characters (96 bits); null for an empty map
 * (nothing remembered). Workers compare it with a digest computed earlier, so the order is taken
 * from an explicit list: an object would put integer-like keys first.
 */
export function digestOf(map: PreferenceMap): string | null {
  if (Object.keys(map).length === 0) return null;
  const canonical = JSON.stringify(sortedEntries(map));
  return createHash('sha256').update(canonical, 'utf8').digest('base64url').slice(0, 16);
}

/**
 * A short digest of the member's preferences (null: none), for LiveKit token metadata: an agent
 * that cached a user's context sees from the token whether the preferences changed since. Runs in
 * the caller's transaction, which must see the row (the user's own context or the org service
 * context). Plugged into createLiveKit's `contextForToken` in src/routes.ts.
 */
export async function preferencesDigest(
  tx: Tx,
  userId: string,
  orgId: string,
): Promise<string | null> {
  const row = await findPreferences(tx, orgId, userId);
  return digestOf(row?.preferences ?? {});
}

export interface PreferencesView {
  preferences: PreferenceMap;
  updated_at: Date | null;
}

/** The stored map (empty when nothing was stored), keys sorted (see sorted). */
export async function readPreferences(
  tx: Tx,
  orgId: string,
  userId: string,
): Promise<PreferencesView> {
  const row = await findPreferences(tx, orgId, userId);
  return { preferences: sorted(row?.preferences ?? {}), updated_at: row?.updated_at ?? null };
}

/** The keys whose value differs between two maps: set (added or changed) and removed. */
export function changedKeys(before: PreferenceMap, after: PreferenceMap) {
  const set = Object.keys(after)
    .filter((k) => before[k] !== after[k])
    .sort();
  const removed = Object.keys(before)
    .filter((k) => !Object.hasOwn(after, k))
    .sort();
  return { set, removed };
}

/** Preferences are a person's own: an API key has the agent API instead. */
function requirePersonInOrg(p: Principal): void {
  if (!isPerson(p)) throw new AppError('forbidden', 'Preferences are read and set by the person');
}

export async function getMyPreferences(database: Database, p: Principal): Promise<PreferencesView> {
  requirePersonInOrg(p);
  return withTenant(database, tenantOf(p), (tx) => readPreferences(tx, p.orgId, p.userId));
}

export async function replaceMyPreferences(
  database: Database,
  p: Principal,
  map: PreferenceMap,
  meta: RequestMeta,
): Promise<PreferencesView> {
  requirePersonInOrg(p);
  const errors = checkPreferences(map);
  if (errors.length > 0) refuse(errors);
  const next = sorted(map);
  return withTenant(database, tenantOf(p), async (tx) => {
    // The superuser acting in another org has no membership there, hence no preferences; nor has
    // a person removed since their token was issued (the removal may have just committed).
    if (!(await activeMemberUnderOrgLock(tx, p.orgId, p.userId)))
      throw new AppError('forbidden', 'Preferences belong to members of the organization');
    await ensurePreferencesRow(tx, p.orgId, p.userId);
    const before = (await findPreferences(tx, p.orgId, p.userId, { lock: true }))?.preferences;
    const row = await savePreferences(tx, p.orgId, p.userId, next);
    const { set, removed } = changedKeys(before ?? {}, next);
    await recordAct(tx, meta, p, {
      action: 'preferences.replace',
      target_type: 'user',
      target_id: p.userId,
      metadata: { keys_set: set.join(','), keys_removed: removed.join(',') },
    });
    return { preferences: sorted(row.preferences), updated_at: row.updated_at };
  });
}

/**
 * Sets (or, with null, removes) one key of a member's map, in the caller's transaction (the agent
 * API's org service context). The entry and the resulting map are checked; the person must be an
 * active member under the org's share lock (404 otherwise: a removal may have just committed);
 * the row is locked.
 */
export async function setOnePreference(
  tx: Tx,
  orgId: string,
  userId: string,
  key: string,
  value: string | null,
): Promise<PreferencesView & { changed: boolean }> {
  const entryErrors = [
    ...keyErrors(key, 'key'),
    ...(value === null ? [] : valueErrors(value, 'value')),
  ];
  if (entryErrors.length > 0) refuse(entryErrors);
  if (!(await activeMemberUnderOrgLock(tx, orgId, userId)))
    throw notFound('member of this organization');
  await ensurePreferencesRow(tx, orgId, userId);
  const current = await findPreferences(tx, orgId, userId, { lock: true });
  const before = current?.preferences ?? {};
  const had = Object.hasOwn(before, key) ? before[key] : undefined;
  if (had === (value ?? undefined)) {
    return { preferences: sorted(before), updated_at: current?.updated_at ?? null, changed: false };
  }
  const next = Object.fromEntries(Object.entries(before).filter(([k]) => k !== key));
  if (value !== null) next[key] = value;
  // Removing a key always fits; adding or growing one must fit. A write that grows nothing (no
  // new key, no more bytes) is let through over the rules, so a map stored under an older, looser
  // count (raw bytes, before the size was counted as stored JSON) can still be trimmed.
  const grows =
    Object.keys(next).length > Object.keys(before).length || jsonBytes(next) > jsonBytes(before);
  const whole = mapErrors(next, 'preferences');
  if (value !== null && grows && whole.length > 0) refuse(whole);
  const row = await savePreferences(tx, orgId, userId, sorted(next));
  return { preferences: sorted(row.preferences), updated_at: row.updated_at, changed: true };
}
