// The preference map's JSON shape and rules, as the API documents them: shared by the routes of
// /api/users/me/preferences and of the agent API (src/agent-context/), so no routes file imports
// another.
import { Type } from 'typebox';
import { PREFERENCE_KEY_PATTERN, PREFERENCE_LIMITS } from './preferences.ts';

const L = PREFERENCE_LIMITS;
export const PREFERENCE_RULES = `Keys: 1 to ${L.maxKeyLength} characters matching \`${PREFERENCE_KEY_PATTERN}\`; values: non-empty strings of at most ${L.maxValueLength} characters; at most ${L.maxKeys} keys and ${L.maxTotalBytes} bytes (UTF-8, keys and values) in all. A map breaking a rule is refused whole with \`422 invalid_preferences\`, each broken rule in \`errors\`.`;

/** A flat map of string keys to string values. */
export const PreferenceMapSchema = Type.Record(Type.String(), Type.String(), {
  description: `Flat map of preference keys to values. ${PREFERENCE_RULES}`,
  examples: [{ language: 'fr', preferred_name: 'Sam' }],
});
