// The TwiML documents Switchboard answers Twilio with, built with the `twilio` package (it escapes
// every value; nothing here concatenates XML).
import { MessagingResponse, VoiceResponse } from './twilio-parts.ts';

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
  if (agent.greeting?.trim()) response.say(sayAttributes(agent), agent.greeting);
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
  response.say(sayAttributes(voice), message);
  response.hangup();
  return response.toString();
}

/** The auto-reply as <Message>, or an empty <Response/> (no reply). */
export function smsReplyTwiml(reply: string | null): string {
  const response = new MessagingResponse();
  if (reply?.trim()) response.message(reply);
  return response.toString();
}
