// What Ajv reports, turned into the `errors` of a validation_failed problem document: one entry per
// field, in words a person understands, allowed values listed for enums, unknown and missing
// fields side by side. Ajv's own list says the same thing many times: a value outside an enum
// written as a union of literals fails every branch (`scopes.0: must be equal to constant`, once
// per scope), a nullable string with a pattern fails both "must be null" and the pattern.
import { hasVisibleText, NO_DIRECTION_CONTROLS, READABLE_NAME } from './schemas.ts';
import { TEXT_KEYWORD } from './validation.ts';

const HOLDS_DIRECTION_CONTROLS =
  'must not hold direction-control characters (U+202A–U+202E, U+2066–U+2069)';

export interface AjvError {
  instancePath?: string;
  schemaPath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  /** Present when Ajv runs with `verbose`: the value that failed. */
  data?: unknown;
  /** Present when Ajv runs with `verbose` (the schema that holds the failed keyword). */
  parentSchema?: { description?: string; pattern?: string; [key: string]: unknown };
}

export interface FieldError {
  field: string;
  message: string;
}

/** At most this many entries: a body with thousands of bad items does not get a huge answer. */
export const MAX_FIELD_ERRORS = 50;

const COMBINATORS = new Set(['anyOf', 'oneOf']);
// A union branch that fails with one of these at the value itself was the wrong shape entirely
// (not a string, not this constant); another branch's complaint is the useful one.
const WRONG_SHAPE = new Set(['type', 'const', 'enum']);

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

const FORMAT_WORDS: Record<string, string> = {
  uuid: 'a UUID',
  email: 'an email address',
  'date-time': 'a date and time with a time zone (RFC 3339, e.g. 2026-01-31T09:30:00Z)',
  date: 'a date (YYYY-MM-DD)',
  time: 'a time (HH:MM:SS)',
  uri: 'an absolute URL',
  'uri-reference': 'a URL',
  hostname: 'a host name',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
};

const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "a, b or c" */
function either(words: string[]): string {
  const unique = [...new Set(words)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`;
}

function fieldOf(e: AjvError): string {
  const base = (e.instancePath ?? '')
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const p = e.params ?? {};
  const child =
    e.keyword === 'additionalProperties'
      ? p.additionalProperty
      : e.keyword === 'required'
        ? p.missingProperty
        : undefined;
  if (typeof child === 'string') return base ? `${base}.${child}` : child;
  return base || '(body)';
}

function typeWords(type: unknown): string[] {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => TYPE_WORDS[t] ?? t);
}

/** One Ajv error in words. */
function explain(e: AjvError): string {
  const p = e.params ?? {};
  const n = Number(p.limit);
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not an allowed field';
    case 'type':
      return `must be ${either(typeWords(p.type))}`;
    case 'const':
      return `must be ${shown(p.allowedValue)}`;
    case 'enum':
      return `must be one of: ${((p.allowedValues as unknown[]) ?? []).map(shown).join(', ')}`;
    case 'format':
      return `must be ${FORMAT_WORDS[String(p.format)] ?? `a valid ${p.format}`}`;
    case 'pattern': {
      if (p.pattern === '\\S') return 'must not be blank';
      if (p.pattern === NO_DIRECTION_CONTROLS) return HOLDS_DIRECTION_CONTROLS;
      if (p.pattern === READABLE_NAME) {
        // Which half of the rule it broke: nothing visible, or a direction control.
        return typeof e.data === 'string' && hasVisibleText(e.data)
          ? HOLDS_DIRECTION_CONTROLS
          : 'must not be blank';
      }
      const description = e.parentSchema?.description;
      return description
        ? `is not in the expected format (${description})`
        : `is not in the expected format (it must match ${p.pattern})`;
    }
    case 'minLength':
      return n === 1 ? 'must not be empty' : `must be at least ${plural(n, 'character')}`;
    case 'maxLength':
      return `must be at most ${plural(n, 'character')}`;
    case 'minimum':
      return `must be ${n} or more`;
    case 'maximum':
      return `must be ${n} or less`;
    case 'exclusiveMinimum':
      return `must be more than ${n}`;
    case 'exclusiveMaximum':
      return `must be less than ${n}`;
    case 'multipleOf':
      return `must be a multiple of ${p.multipleOf}`;
    case 'minItems':
      return n === 1 ? 'must not be empty' : `must have at least ${plural(n, 'item')}`;
    case 'maxItems':
      return `must have at most ${plural(n, 'item')}`;
    case 'uniqueItems':
      return 'must not list the same value twice';
    case 'minProperties':
      return n === 1 ? 'must contain at least one field' : `must contain at least ${n} fields`;
    case 'maxProperties':
      return `must contain at most ${plural(n, 'field')}`;
    case 'oneOf':
      return 'matches more than one of the allowed forms';
    default:
      return e.message ?? 'is not valid';
  }
}

const within = (e: AjvError, c: AjvError) => {
  const at = c.instancePath ?? '';
  const path = e.instancePath ?? '';
  return (
    (e.schemaPath ?? '').startsWith(`${c.schemaPath}/`) &&
    (path === at || path.startsWith(`${at}/`))
  );
};

/**
 * Folds each anyOf/oneOf with the errors of its branches into what the caller should fix: when
 * every branch failed only on the value's shape, one entry listing what is allowed ("must be one
 * of: a, b or null"); otherwise the errors of the branch whose shape matched.
 */
function foldUnions(errors: AjvError[]): AjvError[] {
  let list = errors;
  const unions = list
    .filter((e) => COMBINATORS.has(e.keyword ?? ''))
    // Innermost first: a folded inner union is one error of its outer union's branch.
    .sort((a, b) => (b.schemaPath ?? '').length - (a.schemaPath ?? '').length);
  for (const union of unions) {
    if (!list.includes(union)) continue;
    const inside = list.filter((e) => e !== union && within(e, union));
    if (inside.length === 0) continue;
    const branches = new Map<string, AjvError[]>();
    for (const e of inside) {
      const branch = (e.schemaPath ?? '').slice((union.schemaPath ?? '').length + 1).split('/')[0];
      branches.set(branch ?? '', [...(branches.get(branch ?? '') ?? []), e]);
    }
    const wrongShape = (e: AjvError) =>
      WRONG_SHAPE.has(e.keyword ?? '') && e.instancePath === union.instancePath;
    const matched = [...branches.values()].find((errs) => !errs.every(wrongShape));
    let replacement: AjvError[];
    if (matched) {
      replacement = matched;
    } else {
      const values: string[] = [];
      const types: string[] = [];
      for (const e of inside) {
        if (e.keyword === 'const') values.push(shown(e.params?.allowedValue));
        else if (e.keyword === 'enum')
          values.push(...((e.params?.allowedValues as unknown[]) ?? []).map(shown));
        else types.push(...typeWords(e.params?.type));
      }
      const message =
        values.length > 0
          ? `must be one of: ${values.join(', ')}${types.length ? ` (or ${either(types)})` : ''}`
          : `must be ${either(types)}`;
      replacement = [{ ...union, keyword: 'union', message }];
    }
    const at = list.indexOf(union);
    list = [
      ...list.slice(0, at).filter((e) => !inside.includes(e)),
      ...replacement,
      ...list.slice(at + 1).filter((e) => !inside.includes(e)),
    ];
  }
  return list;
}

/**
 * Ajv's errors as the problem document's `errors`: one per field, in words, in the order the
 * fields were first reported. A field holding text no field can hold (NUL, an unpaired
 * surrogate) is refused for that, whatever else is wrong with it: "\u0000" is also blank, but
 * blank is not why it is refused.
 */
export function fieldErrors(validation: AjvError[]): FieldError[] {
  const out = new Map<string, string>();
  const errors = foldUnions(validation);
  const badText = new Map(
    errors.filter((e) => e.keyword === TEXT_KEYWORD).map((e) => [fieldOf(e), e] as const),
  );
  for (const reported of errors) {
    const field = fieldOf(reported);
    if (out.has(field)) continue;
    const e = badText.get(field) ?? reported;
    out.set(field, e.keyword === 'union' ? (e.message as string) : explain(e));
    if (out.size >= MAX_FIELD_ERRORS) break;
  }
  return [...out].map(([field, message]) => ({ field, message }));
}
