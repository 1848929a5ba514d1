// The WebSocket handshake of /ws and /ws_pcm, checked before `ws` sees it. `ws` refuses a
// malformed handshake itself (abortHandshake: a bare `400 text/html` written to the socket); the
// API answers everything it refuses as an RFC 9457 problem document with a stable `code`, so the
// same checks run here first, in the route's lifecycle, and a request that passes them is one
// `ws` accepts. They mirror ws 8's handleUpgrade (method and Upgrade are settled by the route and
// by Node's 'upgrade' event; permessage-deflate is off, so extensions are not parsed).
import { AppError } from '../http/errors.ts';

/** RFC 6455 §4.2.1: the base64 of 16 bytes. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** An RFC 9110 token (a subprotocol name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const refused = (header: string, message: string, headers?: Record<string, string>) =>
  new AppError('validation_failed', `${header} ${message}`, {
    errors: [{ field: header, message }],
    ...(headers ? { headers } : {}),
  });

/** Why `ws` would refuse this handshake, as the problem to answer; null when it would not. */
export function handshakeProblem(headers: Record<string, string | string[] | undefined>) {
  const upgrade = headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') {
    return refused('Upgrade', 'must be websocket');
  }
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key)) {
    return refused('Sec-WebSocket-Key', 'must be the base64 of 16 bytes');
  }
  const version = Number(headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) {
    return refused('Sec-WebSocket-Version', 'must be 13 (or 8)', {
      'sec-websocket-version': '13, 8',
    });
  }
  const protocols = headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    // ws parses a comma-separated list of distinct tokens (spaces and tabs only around commas) and
    // refuses anything else: a token with a space in it (`bearer, a b`) is not two of them.
    const names = typeof protocols === 'string' ? protocols.split(',').map((p) => p.trim()) : [];
    if (
      names.length === 0 ||
      !names.every((n) => TOKEN.test(n)) ||
      new Set(names).size !== names.length
    ) {
      return refused('Sec-WebSocket-Protocol', 'must be a comma-separated list of distinct tokens');
    }
  }
  return null;
}
