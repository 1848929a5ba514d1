// The TwiML documents Switchboard answers Twilio with, built with the `twilio` package (it escapes
// every value; nothing here concatenates XML).
//
// Invariant: rendering never throws on stored text. The builder refuses characters XML 1.0 does
// not allow (U+0001–U+0008, U+000B, U+000C, U+000E–U+001F, U+FFFE, U+FFFF, lone surrogates) by
// throwing, which turned every call or SMS to a number whose greeting or auto-reply held one into
// a 500, after the call or message had been logged. The API refuses them in those fields
// (src/voice/shared.ts SpokenText); text stored before that, or by any other path, is spoken
// without them.
import { MessagingResponse, VoiceResponse } from './twilio-parts.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu;

/** The text without the characters XML 1.0 cannot carry. */
export function xmlSafe(text: string): string {
  return text.replace(NOT_XML, '');
}

type SayAttributes = Parameters<InstanceType<typeof VoiceResponse>['say']>[0];

export interface AgentVoice {
  greeting: string | null;
  voice: string | null;
  language: string | null;
}

function sayAttributes(v: Pick<AgentVoice, 'voice' | 'language'>): SayAttributes {
  const attrs: Record<string, string> = {};
  if (v.voice) attrs.voice = v.voice;
  if (v.language) attrs.language = v.language;
  return attrs as SayAttributes;
}

/** Greet (when the agent has a greeting), then stream the call's audio to the agent worker. */
export function connectToAgentTwiml(
  agent: AgentVoice & { mediaStreamUrl: string },
  streamToken: string,
): string {
  const response = new VoiceResponse();
  const greeting = agent.greeting ? xmlSafe(agent.greeting) : '';
  if (greeting.trim()) response.say(sayAttributes(agent), greeting);
  const stream = response.connect().stream({ url: agent.mediaStreamUrl });
  stream.parameter({ name: 'token', value: streamToken });
  return response.toString();
}

export const NO_AGENT_MESSAGE =
  'Sorry, nobody can take your call right now. Please try again later. Goodbye.';
export const LINES_BUSY_MESSAGE =
  'Sorry, all our lines are busy right now. Please call again in a little while. Goodbye.';
export const NOT_IN_SERVICE_MESSAGE = 'Sorry, this number is not in service. Goodbye.';

/** A polite message, then hang up. */
export function sayAndHangUpTwiml(
  message: string,
  voice: Pick<AgentVoice, 'voice' | 'language'> = { voice: null, language: null },
): string {
  const response = new VoiceResponse();
  response.say(sayAttributes(voice), xmlSafe(message));
  response.hangup();
  return response.toString();
}

/** Hang up at once (a call that has already ended). */
export function hangUpTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}

/** The auto-reply as <Message>, or an empty <Response/> (no reply). */
export function smsReplyTwiml(reply: string | null): string {
  const response = new MessagingResponse();
  const text = reply ? xmlSafe(reply) : '';
  if (text.trim()) response.message(text);
  return response.toString();
}
