// Does a Twilio account hold this number? The check that proves an org owns a number it
// registered on its own account: Twilio's IncomingPhoneNumbers list, filtered by PhoneNumber,
// through the real client. Twilio's filter matches a part of a number, so only an exact match of
// the whole E.164 number counts.
import { AppError } from '../http/errors.ts';
import type { TwilioRest } from './twilio-client.ts';
import { RestException } from './twilio-parts.ts';

export async function numberIsOnAccount(client: TwilioRest, number: string): Promise<boolean> {
  try {
    const found = await client.incomingPhoneNumbers.list({ phoneNumber: number, limit: 50 });
    return found.some((n) => n.phoneNumber === number);
  } catch (err) {
    if (err instanceof RestException && (err.status === 401 || err.status === 403)) {
      throw new AppError('twilio_credentials_rejected', undefined, {}, { cause: err });
    }
    // Neither the account sid nor the token goes into the answer; the cause is logged only.
    throw new AppError('twilio_unavailable', undefined, {}, { cause: err });
  }
}
