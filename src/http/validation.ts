// The one request validator (Ajv) behind every route's schemas: body, query string, params and
// headers, JSON and form bodies alike.
//
// Invariant: no request string reaches a service with U+0000 or an unpaired UTF-16 surrogate.
// PostgreSQL refuses 0x00 in text and jsonb (a 500 if it gets that far); a lone surrogate cannot be
// encoded as UTF-8 and would be stored silently replaced by U+FFFD, or break jsonb. Every compiled
// schema gets a root keyword that checks every string of the validated value — values at any
// depth, in arrays, and object keys — so no route can forget it, including free-form objects.
import {
  Ajv,
  type AnySchema,
  type ErrorObject,
  type Format,
  type FormatDefinition,
  type SchemaValidateFunction,
  type ValidateFunction,
} from 'ajv';
import addFormatsModule from 'ajv-formats';
import { UUID_PATTERN } from './ids.ts';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export const TEXT_KEYWORD = 'x-well-formed-text';
/** Marks each `format: uuid` string of a compiled schema: its value is read in lower case. */
const LOWER_UUID_KEYWORD = 'x-lower-case-uuid';
export const BAD_TEXT_MESSAGE = 'must not contain NUL or unpaired surrogate characters';

// NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const BAD_TEXT = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isWellFormedText = (s: string) => !BAD_TEXT.test(s);
// A refused key is named in the answer with U+FFFD in place of what was refused.
const printable = (s: string) => s.replace(new RegExp(BAD_TEXT.source, 'g'), '\uFFFD');

const pointer = (key: string) => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The JSON pointer of the first bad string in `value` (`under` + the path), or undefined. A bad
 * object key points at the key itself. Iterative: a deeply nested body cannot overflow the stack.
 */
export function findBadText(value: unknown, under = ''): string | undefined {
  const stack: [unknown, string][] = [[value, under]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === 'string') {
      if (!isWellFormedText(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (!isWellFormedText(k)) return path + pointer(printable(k));
        stack.push([child, path + pointer(k)]);
      }
    }
  }
  return undefined;
}

const checkText: SchemaValidateFunction = (_schema, data, _parentSchema, cxt) => {
  const at = findBadText(data, cxt?.instancePath ?? '');
  if (at === undefined) return true;
  const error: ErrorObject = {
    instancePath: at,
    schemaPath: `#/${TEXT_KEYWORD}`,
    keyword: TEXT_KEYWORD,
    params: {},
    message: BAD_TEXT_MESSAGE,
  };
  checkText.errors = [error];
  return false;
};

/**
 * RFC 3339's date and date-time, as ajv-formats checks them, and ones JavaScript and PostgreSQL
 * can both hold: services turn these strings into Dates and bind them to `date`/`timestamptz`.
 * - A leap second (`23:59:60Z`, valid RFC 3339) makes an Invalid Date, which passes comparisons
 *   (NaN is never before now) and reached the database as a 500.
 * - Year 0000 (valid RFC 3339, a real year to JavaScript) does not exist in PostgreSQL, which
 *   answers "out of range": a 500 on any route that bound it.
 * - An instant past the end of year 9999 in UTC (`9999-12-31T23:59:59-12:00`) is written back as
 *   `+010000-01-01T11:59:59.000Z`, which is not RFC 3339: an answer no strict client parses.
 * All are refused here, as a 400 naming the field, for every date and date-time of every route.
 */
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function representable(
  name: 'date' | 'date-time',
  base: Format | undefined,
): FormatDefinition<string> {
  const def = base as FormatDefinition<string> | undefined;
  if (!def || typeof def !== 'object' || typeof def.validate !== 'function') {
    throw new Error(`ajv-formats no longer defines ${name} as a function`);
  }
  const valid = def.validate as (s: string) => boolean;
  return {
    type: 'string',
    validate: (s: string) => {
      if (!valid(s) || s.startsWith('0000')) return false;
      const at = Date.parse(s);
      return !Number.isNaN(at) && at <= LAST_INSTANT;
    },
    compare: def.compare,
  };
}

function makeAjv(httpPart: 'body' | 'other', allErrors: boolean) {
  const ajv = new Ajv({
    // Unknown fields are rejected (additionalProperties: false), never silently dropped.
    removeAdditional: false,
    useDefaults: true,
    // Bodies are typed JSON: no coercion. Query strings and params arrive as text.
    coerceTypes: httpPart === 'body' ? false : 'array',
    allErrors,
    // The failed keyword's schema comes with each error: a pattern's description explains it.
    verbose: true,
    strict: false,
  });
  addFormats(ajv);
  ajv.addFormat('date', representable('date', ajv.formats.date));
  ajv.addFormat('date-time', representable('date-time', ajv.formats['date-time']));
  // ajv-formats' uuid also admits a `urn:uuid:` prefix, which PostgreSQL's uuid type refuses (a
  // 500 from the database): ids are the bare 36 characters, as PostgreSQL and our ids write them.
  ajv.addFormat('uuid', new RegExp(UUID_PATTERN));
  // A uuid is case-insensitive (RFC 9562) and PostgreSQL compares it so, but services compare ids
  // as strings (a member's own user_id, an identity echoed back): each is read in lower case, as
  // our ids are written, so `ABC…` is the same id everywhere, not a stranger's.
  ajv.addKeyword({
    keyword: LOWER_UUID_KEYWORD,
    schemaType: 'boolean',
    modifying: true,
    errors: false,
    validate: (_on: boolean, data: unknown, _schema: unknown, cxt?: DataValidationCxt) => {
      if (typeof data === 'string' && cxt?.parentData && data !== data.toLowerCase()) {
        (cxt.parentData as Record<string | number, unknown>)[cxt.parentDataProperty] =
          data.toLowerCase();
      }
      return true;
    },
  });
  // post: after coercion (query `a=x` → ['x']) and defaults, so the checked value is the one used.
  ajv.addKeyword({
    keyword: TEXT_KEYWORD,
    schemaType: 'boolean',
    errors: true,
    post: true,
    validate: checkText,
  });
  return ajv;
}

/**
 * Invalid input gets every problem at once (a missing field and an unknown one together), but
 * only when the input is small enough to be a person's: the all-errors pass runs after the usual
 * fail-fast one has refused the value, and only on values of at most this many strings, numbers,
 * keys and items. Ajv's own advice is not to run allErrors on untrusted data: it keeps going after
 * the first failure, so a large invalid value (a 1 MB array of bad items, each failing every
 * branch of an enum) would cost time and an error object per failure. Bodies are bounded
 * (BODY_LIMIT_BYTES) and this bound keeps the extra pass to a few thousand error objects at most;
 * anything larger gets the first error, as before.
 */
export const FULL_REPORT_MAX_VALUES = 1000;

/**
 * And at most this many characters of text in all: the fail-fast pass stops a string at its
 * first failed keyword (a `maxLength`), the all-errors pass would go on to run its `pattern` over
 * the whole string, up to a 1 MiB body of it. However a pattern is written, text no person types
 * into a form field never reaches it.
 */
export const FULL_REPORT_MAX_TEXT = 64 * 1024;

/**
 * True when `value` holds at most `max` values and FULL_REPORT_MAX_TEXT characters of strings
 * (iterative, stops as soon as it is over).
 */
export function isSmallValue(value: unknown, max = FULL_REPORT_MAX_VALUES): boolean {
  const stack: unknown[] = [value];
  let count = 1;
  let text = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      text += v.length;
      if (text > FULL_REPORT_MAX_TEXT) return false;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    // An object counts its keys and its values.
    const children = Array.isArray(v) ? v : Object.values(v);
    count += Array.isArray(v) ? v.length : 2 * children.length;
    if (count > max) return false;
    stack.push(...children);
  }
  return true;
}

type DataValidationCxt = Parameters<ValidateFunction>[1];
type Validate = ((data: unknown, dataCxt?: DataValidationCxt) => boolean) & {
  errors?: ErrorObject[] | null;
  schemaEnv?: unknown;
};

/**
 * Fail fast; on failure, and for a small value, the full list of errors. Both are compiled on
 * first use: a start compiles no schema (Ajv's code generation for every route was a large part
 * of the start-up time), and a route nobody calls never costs one.
 */
function failFastThenAll(compileFast: () => ValidateFunction, compileAll: () => ValidateFunction) {
  let fast: ValidateFunction | undefined;
  let all: ValidateFunction | undefined;
  const validate = ((data: unknown, dataCxt?: DataValidationCxt) => {
    fast ??= compileFast();
    if (fast(data, dataCxt)) {
      validate.errors = null;
      return true;
    }
    validate.errors = fast.errors;
    if (isSmallValue(data)) {
      all ??= compileAll();
      if (!all(data, dataCxt) && all.errors?.length) validate.errors = all.errors;
    }
    return false;
  }) as Validate;
  // Fastify passes the parent object only to functions that have a schemaEnv (Ajv's own): with
  // it, a root value can be coerced and defaulted in place. Always set, as the compiled one has it.
  validate.schemaEnv = true;
  return validate;
}

/**
 * A copy of `schema` in which every string schema of format uuid also carries LOWER_UUID_KEYWORD
 * (the route's own schema stays as it is: the OpenAPI document is generated from it).
 */
function markUuids(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(markUuids);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    // Values, not schemas: left as they are.
    out[k] =
      k === 'enum' || k === 'const' || k === 'default' || k === 'examples' ? v : markUuids(v);
  }
  if (out.format === 'uuid') out[LOWER_UUID_KEYWORD] = true;
  return out;
}

/**
 * Query strings, path params and headers are text, and a number there is written in decimal
 * digits. Ajv's coercion reads whatever JavaScript's Number() reads — `0x10`, `0b1`, `1e1`,
 * ` 5 `, `5.0` — so `?limit=0x10` was a limit of 16: one value with many spellings, which a cache,
 * a log reader or a proxy rule sees as another request than the one served. Checked on the raw
 * text, before Ajv coerces it; what fails is answered as Ajv would answer `abc`.
 */
const DECIMAL_TEXT = {
  integer: /^[+-]?\d+$/,
  number: /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$/,
} as const;
type NumericKind = keyof typeof DECIMAL_TEXT;

const numericKind = (s: unknown): NumericKind | undefined => {
  const type = (s as { type?: unknown } | null)?.type;
  return type === 'integer' || type === 'number' ? type : undefined;
};

/** The top-level fields (of a flat text schema) holding numbers or lists of numbers. */
function numericFields(schema: unknown): [string, NumericKind][] {
  const props = (schema as { properties?: Record<string, unknown> } | null)?.properties;
  if (!props || typeof props !== 'object') return [];
  const out: [string, NumericKind][] = [];
  for (const [name, sub] of Object.entries(props)) {
    const kind =
      numericKind(sub) ??
      ((sub as { type?: unknown }).type === 'array'
        ? numericKind((sub as { items?: unknown }).items)
        : undefined);
    if (kind) out.push([name, kind]);
  }
  return out;
}

/** Ajv's own error for the first number not written in decimal digits, or undefined. */
function notDecimal(data: unknown, fields: [string, NumericKind][]): ErrorObject | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  for (const [name, kind] of fields) {
    const value = (data as Record<string, unknown>)[name];
    const values = Array.isArray(value) ? value : [value];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'string' || DECIMAL_TEXT[kind].test(v)) continue;
      return {
        instancePath: pointer(name) + (Array.isArray(value) ? `/${i}` : ''),
        schemaPath: `#/properties/${name}/type`,
        keyword: 'type',
        params: { type: kind },
        message: `must be ${kind}`,
      };
    }
  }
  return undefined;
}

/** `validate`, after the decimal check of `fields` (none: `validate` itself). */
function decimalFirst(validate: Validate, fields: [string, NumericKind][]): Validate {
  if (fields.length === 0) return validate;
  const checked = ((data: unknown, dataCxt?: DataValidationCxt) => {
    const bad = notDecimal(data, fields);
    if (bad) {
      checked.errors = [bad];
      return false;
    }
    const ok = validate(data, dataCxt);
    checked.errors = validate.errors;
    return ok;
  }) as Validate;
  checked.schemaEnv = true;
  return checked;
}

/**
 * The validator compiler for `app.setValidatorCompiler`. The route's schema object is not changed
 * (the OpenAPI document is generated from it); a copy with the text keyword is compiled, once.
 */
export function createValidatorCompiler() {
  const ajvs = {
    body: { fast: makeAjv('body', false), all: makeAjv('body', true) },
    other: { fast: makeAjv('other', false), all: makeAjv('other', true) },
  };
  const withText = new WeakMap<object, AnySchema>();
  return ({ schema, httpPart }: { schema: unknown; httpPart?: string }) => {
    let checked: AnySchema = schema as AnySchema;
    if (schema !== null && typeof schema === 'object') {
      checked = withText.get(schema) ?? {
        ...(markUuids(schema) as object),
        [TEXT_KEYWORD]: true,
      };
      withText.set(schema, checked);
    }
    const ajv = httpPart === 'body' ? ajvs.body : ajvs.other;
    const validate = failFastThenAll(
      () => ajv.fast.compile(checked),
      () => ajv.all.compile(checked),
    );
    return httpPart === 'body' ? validate : decimalFirst(validate, numericFields(schema));
  };
}
