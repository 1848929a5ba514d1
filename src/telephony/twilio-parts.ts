// The light parts of the `twilio` package, loaded on their own: TwiML builders, the webhook
// signature check and the REST error class. The package's entry point loads its REST client
// (an HTTP stack, ~20 MB resident) which only placing or ending a call needs; twilio-client.ts
// loads it on first use. Same modules the entry point re-exports (one copy: `instanceof` holds).
import { createRequire } from 'node:module';
// Types only (erased): the entry point's own declarations of the same classes.
import type twilio from 'twilio';

const require = createRequire(import.meta.url);

export const VoiceResponse: typeof twilio.twiml.VoiceResponse = require('twilio/lib/twiml/VoiceResponse.js');
export const MessagingResponse: typeof twilio.twiml.MessagingResponse = require('twilio/lib/twiml/MessagingResponse.js');
export const RestException: typeof twilio.RestException =
  require('twilio/lib/base/RestException.js').default;
export const validateRequest: typeof twilio.validateRequest =
  require('twilio/lib/webhooks/webhooks.js').validateRequest;
