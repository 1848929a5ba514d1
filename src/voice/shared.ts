// What every voice resource shares: field shapes, the mapping of the database's unique indexes
// to stable 409 codes, and reference errors.
import { Type } from 'typebox';
import { violatedUniqueIndex } from '../db/errors.ts';
import { AppError, type ErrorCode } from '../http/errors.ts';
import { readableName } from '../http/schemas.ts';

/** E.164: "+", a non-zero country digit, up to 15 digits in all. */
export const E164_PATTERN = '^\\+[1-9][0-9]{6,14}$';
export const E164 = Type.String({
  pattern: E164_PATTERN,
  maxLength: 16,
  description: 'Phone number in E.164 form',
  examples: ['+14155550100'],
});

export const Name = readableName(200);
export const Uuid = Type.String({ format: 'uuid' });
export const NullableUuid = Type.Union([Uuid, Type.Null()]);
export const NullableText = (maxLength: number) =>
  Type.Union([Type.String({ maxLength }), Type.Null()]);

/**
 * Text that Twilio speaks or sends (a greeting, an auto-reply) travels in TwiML, an XML document:
 * control characters XML 1.0 cannot carry are refused here, with a 400 naming the field (tab and
 * line breaks are fine). src/telephony/twiml.ts drops them from anything stored before.
 */
export const NullableSpokenText = (maxLength: number) =>
  Type.Union([
    Type.String({
      maxLength,
      pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]*$',
      description: 'no control characters other than tab and line breaks',
    }),
    Type.Null(),
  ]);

export const SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

/**
 * Run a write and turn the named unique indexes into their 409 codes. The indexes are the
 * authority (they see across tenants and win races); the code only names the outcome.
 */
export async function mapConflicts<T>(
  write: () => Promise<T>,
  conflicts: Record<string, ErrorCode>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const index = violatedUniqueIndex(err);
    const code = index ? conflicts[index] : undefined;
    if (code) throw new AppError(code, undefined, {}, { cause: err });
    throw err;
  }
}

/** A body field naming a row the caller cannot see: the same answer whether it exists or not. */
export function unknownReference(field: string, what: string): AppError {
  return new AppError('validation_failed', `No such ${what}`, {
    errors: [
      {
        field,
        message: `does not name ${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what} you can use`,
      },
    ],
  });
}

export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
