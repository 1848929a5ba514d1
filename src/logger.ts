// pino options: request ids in every line, secrets redacted wherever they could appear; and where
// the lines go: to a terminal, pretty-printed; elsewhere, JSON through an asynchronous destination.
import { createRequire } from 'node:module';
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
import ThreadStream from 'thread-stream';
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

/** What the gathered lines are handed to: thread-stream's end of the writer thread. */
type LineSink = Pick<ThreadStream, 'write' | 'flush' | 'flushSync' | 'end'>;

/**
 * JSON lines gathered over one turn of the event loop, then handed on as one string to a worker
 * thread that writes them (thread-stream, running pino's file destination). Handing over costs a
 * copy into shared memory; no write(2) happens on the main thread, and a reader that falls behind
 * (a full pipe) stalls the writer thread, never a request. A line costs an array push, a turn's
 * lines one join and one copy (a sink fed line by line paid for each line, and sonic-boom on the
 * main thread for every line queued before it: BENCHMARKS.md, /health at LOG_LEVEL=info).
 *
 * At exit every line logged so far is written before the process goes: what is gathered is
 * handed over, then thread-stream's end() blocks until the writer thread has written everything
 * and closed its file. A write already under way belongs to that thread, which goes on while the
 * main thread waits: when the main thread wrote through an asynchronous sink of its own, a write
 * in flight at exit was cut (a crash lost a tenth of its last lines, one cut in half).
 */
export class TurnBatchedDestination implements DestinationStream {
  #lines: string[] = [];
  #scheduled = false;
  #ended = false;
  readonly #onExit = () => this.end();

  constructor(private readonly sink: LineSink) {
    process.on('exit', this.#onExit);
  }

  write(line: string): void {
    // After the end nothing is handed over: nothing is kept either.
    if (this.#ended) return;
    this.#lines.push(line);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#hand);
  }

  readonly #hand = () => {
    this.#scheduled = false;
    this.#handOver();
  };

  #handOver(): void {
    if (this.#lines.length === 0) return;
    const lines = this.#lines;
    this.#lines = [];
    this.sink.write(lines.length === 1 ? lines[0]! : lines.join(''));
  }

  /** pino's logger.flush(): what is gathered is handed over, then the writer's pending writes. */
  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    this.sink.flush(cb);
  }

  /** pino calls it after a fatal line: the writer thread has read every line when it returns. */
  flushSync(): void {
    this.#handOver();
    this.sink.flushSync();
  }

  /**
   * Also the exit handler: returns once every line is written. thread-stream's end() waits for
   * the writer thread to write and close, but only with nothing left to copy over, so flushSync
   * first (it waits for the thread to read it all). Each gives up after 10 s (a reader that stopped
   * reading); a writer thread that failed has already said so ('error'): nothing to add here.
   */
  end(): void {
    if (this.#ended) return;
    this.#handOver();
    this.#ended = true;
    process.off('exit', this.#onExit);
    try {
      this.sink.flushSync();
    } catch {}
    this.sink.end();
  }
}

/** pino's own file destination (sonic-boom), run in the writer thread. */
const PINO_FILE = createRequire(import.meta.url).resolve('pino/file');

/**
 * Where the server's log lines go. A terminal gets them human-readable (pino-pretty, in pino's
 * worker thread); anything else (a file, a pipe, a log collector) gets one JSON object per line,
 * written asynchronously by a writer thread (a turn's lines handed over at once), so a request
 * never waits on a write(2). The last lines before an exit, a crash's included, are kept.
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
  // thread-stream itself, not pino.transport (the same thread and file destination): the
  // transport adds exit handlers of its own, which can end the stream before this destination's
  // handler has handed over the turn's lines.
  const writer = new ThreadStream({
    filename: PINO_FILE,
    workerData: { destination: dest },
    // Resident memory (goal: BENCHMARKS.md): the ring of shared memory every line passes through
    // is touched whole as it wraps (thread-stream's default is 4 MB; a turn's lines are KBs, and
    // a full ring only queues on the main thread), and the thread's young generation would grow
    // to the server's semi-space flag. Together ~7 of the thread's ~16 MB.
    bufferSize: 256 * 1024,
    workerOpts: {
      name: 'log-writer',
      // Nothing of the parent's command line (a loader, --input-type, -e): the thread runs plain
      // JavaScript of pino's, and parent flags have stopped workers from starting.
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    },
  });
  // The writer thread does not keep the process alive: the exit handler writes what is left.
  (writer as ThreadStream & { unref(): void }).unref();
  return new TurnBatchedDestination(writer);
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
