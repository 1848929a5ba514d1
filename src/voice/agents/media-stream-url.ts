// The agent's media-stream URL carries the caller's audio and the stream token that authenticates
// it: in clear text (ws://) anyone on the path hears the call and can replay the token. Only
// wss:// is accepted — ws:// only to a loopback host (127.0.0.0/8, ::1, localhost), where the
// audio never leaves the machine, and never in production; and no user:password@ in it (shown to
// every reader of the agent). The one check for create and update.
import type { Config } from '../../config.ts';
import { AppError } from '../../http/errors.ts';

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function isLoopback(hostname: string): boolean {
  // WHATWG URL parsing has already normalised the host: "127.1" → "127.0.0.1", "[::1]" kept bracketed.
  return hostname === 'localhost' || hostname === '[::1]' || IPV4_LOOPBACK.test(hostname);
}

/** Why this URL may not carry media, or null when it may. */
export function mediaStreamUrlProblem(value: string, nodeEnv: Config['nodeEnv']): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a wss:// URL';
  }
  // user:password@ is sent to no one useful (Twilio's <Stream> carries no credentials from the
  // URL) and would be shown to everyone who can read the agent; the stream token authenticates.
  if (url.username || url.password) {
    return 'must not carry credentials (user:password@): the stream token authenticates the call';
  }
  if (url.protocol === 'wss:') return null;
  if (url.protocol === 'ws:') {
    if (nodeEnv !== 'production' && isLoopback(url.hostname)) return null;
    return nodeEnv === 'production'
      ? 'must use wss:// (ws:// sends the call audio in clear text)'
      : 'must use wss:// (ws:// is allowed only to a loopback host outside production)';
  }
  return 'must be a wss:// URL';
}

export function checkMediaStreamUrl(
  value: string | null | undefined,
  nodeEnv: Config['nodeEnv'],
): void {
  if (value === null || value === undefined) return;
  const problem = mediaStreamUrlProblem(value, nodeEnv);
  if (problem) {
    throw new AppError('validation_failed', 'The media stream URL is not allowed', {
      errors: [{ field: 'media_stream_url', message: problem }],
    });
  }
}
