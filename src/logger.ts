// pino options: request ids in every line, secrets redacted wherever they could appear; and where
// the lines go: to a terminal, pretty-printed; elsewhere, JSON through an asynchronous destination.
import type { FastifyRequest } from 'fastify';
import { type DestinationStream, type LoggerOptions, pino } from 'pino';
import type { Config } from './config.ts';

/**
 * Query parameters whose values are secrets (device-socket tokens and tickets, links from mails).
 * Applied by the request serializer, so every route's request lines are covered.
 */
const SECRET_QUERY =
  /([?&](?:token|ticket|access_token|refresh_token|mfa_token|key|code|password|secret)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-twilio-signature"]',
  // Device sockets may carry their access token as a subprotocol: `bearer, <token>`.
  'req.headers["sec-websocket-protocol"]',
  'headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.mfa_token',
  '*.secret',
  '*.backup_code',
  '*.key',
  '*.auth_token',
  'password',
  'token',
  'secret',
];

export function loggerOptions(config: Pick<Config, 'logLevel' | 'nodeEnv'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req(req: FastifyRequest) {
        return {
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip,
          userAgent: req.headers['user-agent'],
        };
      },
    },
  };
}

/**
 * Where the server's log lines go. A terminal gets them human-readable (pino-pretty, in pino's
 * worker thread); anything else (a file, a pipe, a log collector) gets one JSON object per line,
 * written asynchronously (lines gather while a write is under way) so a request never waits on
 * a write(2). pino flushes what is pending synchronously when the process exits, so the last
 * lines before an exit are kept.
 */
export function logDestination(
  options: { tty?: boolean; dest?: string | number } = {},
): DestinationStream {
  const dest = options.dest ?? 1;
  if (options.tty ?? (dest === 1 && process.stdout.isTTY)) {
    return pino.transport({
      target: 'pino-pretty',
      options: { destination: dest, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    });
  }
  return pino.destination({ dest, sync: false });
}
