// The preference map's JSON shape and rules, as the API documents them: shared by the routes of
// /api/users/me/preferences and of the agent API (src/agent-context/), so no routes file imports
// another.
import { Type } from 'typebox';
import { PREFERENCE_KEY_PATTERN, PREFERENCE_LIMITS, type PreferenceMap } from './preferences.ts';

const L = PREFERENCE_LIMITS;
export const PREFERENCE_RULES = `Keys: 1 to ${L.maxKeyLength} characters matching \`${PREFERENCE_KEY_PATTERN}\`; values: non-empty strings of at most ${L.maxValueLength} characters; at most ${L.maxKeys} keys and ${L.maxTotalBytes} bytes in all, counted as the map's compact JSON in UTF-8 (\`{"key":"value",…}\`, escapes included: a control character counts 6). A map breaking a rule is refused whole with \`422 invalid_preferences\`, each broken rule in \`errors\`.`;

/**
 * A flat map of string keys to string values. Every property's value is checked through
 * `additionalProperties`, never through a pattern of keys (what `Type.Record` compiles to): a
 * pattern's `.` does not match a line terminator, so a key holding one matched no pattern and its
 * value went unchecked, of any type, into code that reads strings (a 500). The key rules are the
 * service's (422 with every broken rule named), not the schema's.
 */
export const PreferenceMapSchema = Type.Unsafe<PreferenceMap>(
  Type.Object(
    {},
    {
      additionalProperties: Type.String(),
      description: `Flat map of preference keys to values. ${PREFERENCE_RULES} Answers list the keys in code-point order, except integer-like keys (\`2\`, \`10\`), which come first in numeric order (as in any JavaScript object): do not rely on the order.`,
      examples: [{ language: 'fr', preferred_name: 'Sam' }],
    },
  ),
);
