// Text lengths as people and JSON Schema count them: in characters (Unicode code points), not in
// the UTF-16 units of String.length, which counts an emoji twice. A limit documented as a
// maxLength (OpenAPI) or checked by a column's length() must be enforced in the same unit, or a
// client that validates against the schema is refused.

/** The number of code points in `text`. */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
