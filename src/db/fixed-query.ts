// A hot statement built by Kysely once per shape, not once per call. Building a query allocates
// and freezes its whole operation tree, then compiles it to SQL: 30–70 µs of main-thread CPU per
// statement on the hot reads (~70 µs of a GET /auth/me: about a sixth of the request), to
// produce the same SQL text every time with other parameter values. Here the builder runs once
// with a marker in place of each argument; the compiled SQL is kept, and each call only puts its
// values where the markers landed among the parameters.
//
// Invariant (checked when a shape is first compiled): an argument reaches the statement only as a
// bind parameter. A marker that does not appear among the parameters was used some other way (in
// a branch on its content, spliced into SQL text): that fails loudly, never silently reused. What
// decides the shape is only whether each argument is set: undefined, null, false, true, 0 and ''
// are passed to the builder as themselves and are part of the shape's key; any other value is a
// marker. So a builder may write `if (a.before)`, never `if (a.limit > 10)` or `a.q.trim()`:
// derived values (an escaped LIKE pattern) are computed before the call and passed in.
// The SQL text is the same as the builder's own would be, so prepared statements, row-level
// security and the tenant context are untouched.
// What the check at compile time cannot see: an argument that is a parameter AND decides a branch
// by strict equality (`a.status === 'done' ? …`): its marker always takes the same side. The test
// suite turns on verifyFixedQueries, so every call there also runs the builder on its own values
// and must get the fixed statement's SQL and parameters; production skips that work.
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { DB } from './schema.ts';

type Scalar = string | number | boolean | Date | null | undefined;
type Args = Readonly<Record<string, Scalar>>;

/** Stands for one argument while the shape is built; never reaches the database. */
class Marker {
  constructor(readonly key: string) {}
  toString(): string {
    throw new Error(`fixedQuery: argument '${this.key}' was used as text, not as a parameter`);
  }
}

/** A value of the shape's key: as itself when falsy or boolean, else "set" (a marker). */
function literal(value: Scalar): boolean {
  return value === undefined || value === null || typeof value === 'boolean' || !value;
}

interface Shape {
  query: CompiledQuery;
  /** Per parameter: the argument it takes, or null for a constant of the builder's. */
  slots: (string | null)[];
}

function compileShape<A>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, args: A) => Compilable<unknown>,
  args: A,
): Shape {
  const standIns: Record<string, Scalar | Marker> = {};
  for (const [key, value] of Object.entries(args as Args)) {
    standIns[key] = literal(value) ? value : new Marker(key);
  }
  const query = build(db, standIns as unknown as A).compile();
  const slots = query.parameters.map((p) => (p instanceof Marker ? p.key : null));
  for (const [key, standIn] of Object.entries(standIns)) {
    if (standIn instanceof Marker && !slots.includes(key)) {
      throw new Error(`fixedQuery: argument '${key}' does not reach the statement as a parameter`);
    }
  }
  return { query, slots };
}

function shapeKey(args: Args): string {
  let key = '';
  for (const name in args) {
    const value = args[name];
    key += `${name}=${literal(value) ? (value === '' ? "''" : String(value)) : '$'};`;
  }
  return key;
}

let verifying = false;

/**
 * Every call also builds its statement the ordinary way and fails unless the SQL text and the
 * parameters equal those of its shape's statement with its values (src/test/setup.ts: the whole
 * suite, on both databases). Off in production: it costs the build fixedQuery saves.
 */
export function verifyFixedQueries(on: boolean): void {
  verifying = on;
}

const sameValue = (x: unknown, y: unknown) =>
  x instanceof Date && y instanceof Date ? x.getTime() === y.getTime() : Object.is(x, y);

function verifyCall(fixed: CompiledQuery, direct: CompiledQuery): void {
  const same =
    fixed.sql === direct.sql &&
    fixed.parameters.length === direct.parameters.length &&
    fixed.parameters.every((v, i) => sameValue(v, direct.parameters[i]));
  if (!same) {
    throw new Error(
      `fixedQuery: this call's own statement is not its shape's (an argument decided a branch by its content): ${direct.sql}`,
    );
  }
}

/**
 * Wraps a builder of one statement into a function that runs it with the rows as the builder's
 * `.execute()` would answer them. See the invariant above for what the builder may do.
 */
export function fixedQuery<A extends { readonly [K in keyof A]: Scalar }, R>(
  build: (db: Kysely<DB>, args: A) => Compilable<R>,
): (db: Kysely<DB>, args: A) => Promise<R[]> {
  const shapes = new Map<string, Shape>();
  return async (db, args) => {
    const key = shapeKey(args as Args);
    let shape = shapes.get(key);
    if (!shape) {
      shape = compileShape(db, build, args);
      shapes.set(key, shape);
    }
    const { query, slots } = shape;
    const values = args as Args;
    const parameters = slots.map((slot, i) => (slot === null ? query.parameters[i] : values[slot]));
    // Fields listed, not spread (a spread with more fields is slow: ARCHITECTURE.md, Performance).
    const bound: CompiledQuery = Object.freeze({
      query: query.query,
      queryId: query.queryId,
      sql: query.sql,
      parameters: Object.freeze(parameters),
    });
    if (verifying) verifyCall(bound, build(db, args).compile());
    const result = await db.executeQuery<R>(bound as CompiledQuery<R>);
    return result.rows;
  };
}
