// pino options: request ids in every line, secrets redacted wherever they could appear; and where
// the lines go: to a terminal, pretty-printed; elsewhere, JSON through an asynchronous destination.
import { writeSync } from 'node:fs';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import {
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type Level,
  type Logger,
  type LoggerOptions,
  pino,
} from 'pino';
import type { Config } from './config.ts';

/**
 * Query parameters whose values are secrets (device-socket tokens and tickets, links from mails).
 * Applied by the request serializer, so every route's request lines are covered.
 */
const SECRET_NAMES = new Set([
  'token',
  'ticket',
  'access_token',
  'refresh_token',
  'mfa_token',
  'key',
  'code',
  'password',
  'secret',
]);
const QUERY_PARAM = /([?&])([^=&#]*)(=?)([^&#]*)/g;

/** The parameter's name as the query parser reads it (`%74oken` is `token`), lower-cased. */
function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * The URL with the values of secret query parameters replaced. Names are compared decoded, as the
 * routes read them: a percent-encoded name (`?%74oken=`) authenticates like the plain one, so it
 * must be redacted like it.
 */
export function redactUrl(url: string): string {
  if (!url.includes('?')) return url;
  return url.replace(QUERY_PARAM, (whole, sep: string, name: string, eq: string) =>
    eq && SECRET_NAMES.has(decodedName(name)) ? `${sep}${name}=[REDACTED]` : whole,
  );
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

type FileSink = ReturnType<typeof pino.destination> & {
  readonly destroyed?: boolean;
  /** The descriptor the sink writes to (sonic-boom's; -1 while a path is still being opened). */
  readonly fd?: number;
};

/** How long the exit path waits on a full pipe or terminal for its reader before giving up. */
const EXIT_WRITE_PATIENCE_MS = 5000;
/** Atomics.wait on it sleeps the thread: nothing ever notifies it. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * `text` written to `fd` before this returns, for the exit path only (it blocks the thread). A
 * non-blocking pipe that is full (EAGAIN) is waited on, at most EXIT_WRITE_PATIENCE_MS; any other
 * failure (the reader is gone: EPIPE) drops the rest, as there is nowhere left to report it.
 */
function writeAllSync(fd: number | undefined, text: string): void {
  if (fd === undefined || fd < 0) return;
  let rest = Buffer.from(text);
  const deadline = Date.now() + EXIT_WRITE_PATIENCE_MS;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) return;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}

/**
 * JSON lines gathered over one turn of the event loop, then handed to the file sink as one string.
 * The sink (sonic-boom) appends each write to the string it has pending and measures that
 * string's UTF-8 length on every append, which flattens it: under load, with a write in flight,
 * each access line paid for every line queued before it (BENCHMARKS.md: /health at
 * LOG_LEVEL=info). Here a line costs an array push and a turn's lines one join. Nothing is held
 * past the turn, and at exit the lines still gathered are written after the sink's synchronous
 * flush (flushSync).
 */
export class TurnBatchedDestination implements DestinationStream {
  #lines: string[] = [];
  #scheduled = false;
  readonly #onExit = () => this.flushSync();

  constructor(private readonly sink: FileSink) {
    process.on('exit', this.#onExit);
  }

  write(line: string): void {
    this.#lines.push(line);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#hand);
  }

  readonly #hand = () => {
    this.#scheduled = false;
    this.#handOver();
  };

  #take(): string {
    const lines = this.#lines;
    this.#lines = [];
    return lines.length === 1 ? lines[0]! : lines.join('');
  }

  #handOver(): void {
    if (this.#lines.length > 0) this.sink.write(this.#take());
  }

  /** pino's logger.flush(): what is gathered, then the sink's pending writes. */
  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    this.sink.flush(cb);
  }

  /**
   * The exit handler: every line logged so far is written before this returns. The sink's
   * buffer goes first (its own flushSync), then the lines gathered this turn, written here: handed
   * to the sink they would start an asynchronous write, which the exiting process cuts off (a pipe
   * kept its first 64 KB and lost the rest). A write the sink started in an earlier turn and has
   * not finished is the sink's: its flushSync does not wait for it either.
   */
  flushSync(): void {
    const gathered = this.#take();
    if (this.sink.destroyed) return;
    this.sink.flushSync();
    if (gathered) writeAllSync(this.sink.fd, gathered);
  }

  end(): void {
    process.off('exit', this.#onExit);
    this.#handOver();
    this.sink.end();
  }
}

/**
 * Where the server's log lines go. A terminal gets them human-readable (pino-pretty, in pino's
 * worker thread); anything else (a file, a pipe, a log collector) gets one JSON object per line,
 * written asynchronously (a turn's lines in one write, more gathering while a write is under
 * way) so a request never waits on a write(2). What is pending is flushed synchronously when the
 * process exits, so the last lines before an exit are kept.
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
  return new TurnBatchedDestination(pino.destination({ dest, sync: false }));
}

type LogArgs = Parameters<Logger['info']>;

/**
 * A request's logger (its lines carry the request's id), made by pino on the request's first line
 * instead of for every request. pino's child() serializes its bindings up front, through the
 * redaction pass (the wildcard paths above apply to every binding): about a microsecond on every
 * request, for a logger most requests never write to (the access line has its own, see
 * src/app/request-lifecycle.ts). A line at a level the logger drops makes no child either.
 */
class RequestLogger {
  #child: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get #log(): Logger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }
  set level(level: string) {
    this.#log.level = level;
  }

  isLevelEnabled(level: string): boolean {
    // A route's own log level (options.level) is the child's to decide.
    return this.#child || this.options.level
      ? this.#log.isLevelEnabled(level)
      : this.parent.isLevelEnabled(level);
  }

  #write(level: Level, args: LogArgs): void {
    if (!this.isLevelEnabled(level)) return;
    const log = this.#log;
    (log[level] as (...a: LogArgs) => void).apply(log, args);
  }
  fatal(...args: LogArgs) {
    this.#write('fatal', args);
  }
  error(...args: LogArgs) {
    this.#write('error', args);
  }
  warn(...args: LogArgs) {
    this.#write('warn', args);
  }
  info(...args: LogArgs) {
    this.#write('info', args);
  }
  debug(...args: LogArgs) {
    this.#write('debug', args);
  }
  trace(...args: LogArgs) {
    this.#write('trace', args);
  }
  silent() {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#log.child(bindings, options);
  }
}

/** Fastify's childLoggerFactory: each request's logger, made on its first line (RequestLogger). */
export function requestLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new RequestLogger(
    logger as unknown as Logger,
    bindings,
    options,
  ) as unknown as FastifyBaseLogger;
}
