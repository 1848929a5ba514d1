// The one configuration module: every setting is read from the environment here, once,
// validated, typed and frozen. Every bad value is found before the server gives up, so one start
// lists everything an operator has to fix, each problem naming its variable.
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS } from './crypto/signing-key-timing.ts';
import { normalizeEmail } from './mail/email-address.ts';
import { checkPassword } from './security/password-policy.ts';
import {
  LIMIT_DEFAULTS,
  LIMIT_NAMES,
  type LimitName,
  type LimitSpec,
  loginInvariantProblems,
  readLimitOverrides,
} from './security/rate-limits.ts';

/** A configuration that cannot start the server; `problems` lists every one, each on a line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

/** The startup message for a bad configuration: every problem, no stack trace. */
export function describeConfigError(err: ConfigError): string {
  if (err.problems.length === 1) return `Switchboard cannot start: ${err.problems[0]}`;
  const list = err.problems.map((p) => `  - ${p}`).join('\n');
  return `Switchboard cannot start: ${err.problems.length} configuration problems:\n${list}`;
}

type Env = Record<string, string | undefined>;

/**
 * Every variable `loadConfig` reads besides the RATE_LIMIT_* ones (those come from
 * LIMIT_DEFAULTS). The readers below accept only these names, and config.test.ts keeps
 * `.env.example` and README's tables equal to `ENV_VARIABLES`.
 */
const VARIABLES = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'DATA_DIR',
  'LOG_LEVEL',
  'BODY_LIMIT_BYTES',
  'TRUST_PROXY',
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'DATABASE_TIMEOUT_MS',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_LOCK_TIMEOUT_MS',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'ENCRYPTION_KEYS',
  'ENCRYPTION_ACTIVE_KEY_ID',
  'SECRET_KEY',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'ACCESS_TOKEN_TTL_SECONDS',
  'REFRESH_TOKEN_IDLE_TTL_SECONDS',
  'SESSION_ABSOLUTE_TTL_SECONDS',
  'REFRESH_REUSE_GRACE_SECONDS',
  'REVOCATION_POLL_MS',
  'SIGNING_KEY_PUBLISH_DELAY_SECONDS',
  'SIGNUP_ENABLED',
  'REQUIRE_EMAIL_VERIFICATION',
  'PASSWORD_RESET_TTL_MINUTES',
  'PASSWORD_MIN_LENGTH',
  'PASSWORD_MAX_LENGTH',
  'ARGON2_MEMORY_COST',
  'ARGON2_TIME_COST',
  'ARGON2_PARALLELISM',
  'UV_THREADPOOL_SIZE',
  'SMTP_URL',
  'MAIL_OUTBOX_ALLOWED',
  'MAIL_FROM',
  'ADMIN_EMAIL',
  'ADMIN_PASSWORD',
  'INVITATION_TTL_DAYS',
  'SET_PASSWORD_TTL_DAYS',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_API_URL',
  'TWILIO_TIMEOUT_MS',
  'STREAM_TOKEN_TTL_SECONDS',
  'DISPATCHER_ENABLED',
  'DISPATCHER_POLL_MS',
  'DISPATCHER_BATCH_SIZE',
  'DISPATCHER_LEASE_SECONDS',
  'DISPATCHER_MAX_ATTEMPTS',
  'DISPATCHER_RETRY_BASE_MS',
  'SCHEDULED_CALLS_MAX_PENDING',
  'LIVEKIT_URL',
  'LIVEKIT_API_KEY',
  'LIVEKIT_API_SECRET',
  'LIVEKIT_TOKEN_TTL_SECONDS',
  'AUDIO_IDLE_TIMEOUT_SECONDS',
  'AUDIO_MAX_CONVERSATION_BYTES',
  'AUDIO_MAX_ORG_BYTES',
  'AUDIO_WRITE_BUFFER_BYTES',
  'REALTIME_MAX_FRAME_BYTES',
  'REALTIME_MAX_SOCKETS_PER_USER',
  'REALTIME_MAX_SOCKETS_PER_ORG',
  'REALTIME_MAX_DEVICES_PER_USER',
  'REALTIME_TICKET_TTL_SECONDS',
  'QUOTA_MAX_LIVE_CALLS',
  'QUOTA_INBOUND_RESERVED_CALLS',
  'QUOTA_MAX_VOICE_SESSIONS',
  'QUOTA_MAX_DEVICE_SOCKETS',
  'QUOTA_MAX_SCHEDULED_CALLS_PER_DAY',
  'QUOTA_LEASE_SECONDS',
  'QUOTA_SOCKET_LEASE_SECONDS',
  'QUOTA_DISPATCH_RETRY_SECONDS',
] as const;
type Variable = (typeof VARIABLES)[number];

/** Every environment variable the server reads. */
export const ENV_VARIABLES: readonly string[] = [
  ...VARIABLES,
  ...LIMIT_NAMES.map((name) => LIMIT_DEFAULTS[name].env),
];

const NODE_ENVS = ['development', 'production', 'test'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Secrets the server needs; generated into DATA_DIR in development, required in production. */
export const SECRET_NAMES = ['ENCRYPTION_KEYS', 'SECRET_KEY'] as const satisfies Variable[];
type SecretName = (typeof SECRET_NAMES)[number];

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface Config {
  nodeEnv: (typeof NODE_ENVS)[number];
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  bodyLimitBytes: number;
  trustProxy: string | false;
  database: {
    /** undefined = embedded PostgreSQL (PGlite) in DATA_DIR/pgdata */
    url: string | undefined;
    poolSize: number;
    /** connect timeout, so an unreachable database answers 503 instead of hanging */
    timeoutMs: number;
    /**
     * The server cancels a statement running longer (PostgreSQL's statement_timeout), and a lock
     * waited for longer (lock_timeout): a request answers 503 instead of holding a pooled
     * connection behind a stuck statement or a lock held elsewhere. Migrations are exempt.
     */
    statementTimeoutMs: number;
    lockTimeoutMs: number;
  };
  redisUrl: string | undefined;
  encryption: {
    keys: readonly EncryptionKey[];
    activeKeyId: string;
  };
  /** Server-side HMAC key (backup-code pepper, stream tokens). Never stored in the database. */
  secretKey: Buffer;
  auth: {
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshIdleTtlSeconds: number;
    sessionAbsoluteTtlSeconds: number;
    /** Two tabs refreshing at once: the loser gets a 409 instead of a reuse alarm. */
    refreshReuseGraceSeconds: number;
    /** How often each instance reads newly revoked sessions (other instances' logouts). */
    revocationPollMs: number;
    /**
     * A rotated-in signing key is published this long before it signs, so verifiers holding a
     * cached JWKS know it by then. 0 = sign at once (breaks such verifiers: emergencies only).
     */
    signingKeyPublishDelaySeconds: number;
    signupEnabled: boolean;
    requireEmailVerification: boolean;
    /** Lifetime of a mailed password-reset link (single use, stored hashed). */
    passwordResetTtlMinutes: number;
    password: { minLength: number; maxLength: number };
    argon2: { memoryCost: number; timeCost: number; parallelism: number };
    /**
     * Threads of Node's pool (libuv reads UV_THREADPOOL_SIZE itself, at start): argon2 runs
     * there, sharing it with file reads, DNS and WebCrypto (src/auth/password.ts).
     */
    threadPoolSize: number;
    /** Secure cookies unless plain-http localhost in development/test. */
    secureCookies: boolean;
  };
  mail: {
    /**
     * undefined = write mails to DATA_DIR/outbox (their links are logged in development only).
     * In production only with MAIL_OUTBOX_ALLOWED=true.
     */
    smtpUrl: string | undefined;
    from: string;
  };
  /** Brute-force and rate limits (RATE_LIMIT_* = POINTS/SECONDS), see src/security/rate-limits.ts. */
  rateLimits: Readonly<Record<LimitName, LimitSpec>>;
  /** Prefix for every Redis key (several deployments may share one Redis). */
  redisKeyPrefix: string;
  /** Platform superuser created at start if absent (ADMIN_EMAIL / ADMIN_PASSWORD); or none. */
  admin: { email: string; password: string } | undefined;
  orgs: {
    /** Lifetime of a mailed invitation link (single use, stored hashed). */
    invitationTtlDays: number;
    /** Lifetime of the set-password link mailed to an admin-created user. */
    setPasswordTtlDays: number;
  };
  twilio: {
    /** The platform Twilio account, for orgs without their own credentials (or none). */
    accountSid: string | undefined;
    authToken: string | undefined;
    /** REST base URL instead of https://api.twilio.com (a proxy, or a fake server in tests). */
    apiUrl: string | undefined;
    requestTimeoutMs: number;
    /**
     * Lifetime of the media token (EdDSA JWT, `typ: media+jwt`) the TwiML hands to the agent's
     * media stream; retired signing keys stay published at least this long.
     */
    streamTokenTtlSeconds: number;
  };
  /** Device audio streams and their stored conversations (src/conversations/). */
  conversations: {
    /** No frame for this long closes the stream (1000, "idle timeout"); the audio is kept. */
    idleTimeoutSeconds: number;
    /** Audio bytes one conversation may hold; more closes the stream (1009). */
    maxBytes: number;
    /**
     * What one org's conversations (not deleted) may hold on this platform, each counted as its
     * audio bytes plus CONVERSATION_OVERHEAD_BYTES: an audio-start with nothing left is refused
     * and a stream reaching it closes (1009 "org audio storage full"). Bounds the disk one org
     * fills through many streams, where maxBytes bounds one.
     */
    maxOrgBytes: number;
    /**
     * Bytes a stream may hold in memory waiting for the disk: beyond it the socket is paused
     * (no more reading from the TCP connection) until the file has drained.
     */
    writeBufferBytes: number;
  };
  /** The scheduled-call dispatcher (src/telephony/dispatcher.ts). */
  dispatcher: {
    enabled: boolean;
    pollMs: number;
    batchSize: number;
    /** A claimed call not finished within this returns to the queue (its instance died). */
    leaseSeconds: number;
    maxAttempts: number;
    retryBaseMs: number;
  };
  scheduledCalls: {
    /** Scheduled calls an org may have waiting (pending or being placed) at once. */
    maxPending: number;
  };
  /**
   * The LiveKit server rooms are on (src/livekit/). `server` is undefined when LIVEKIT_URL,
   * LIVEKIT_API_KEY and LIVEKIT_API_SECRET are all unset: every LiveKit route then answers
   * 503 livekit_not_configured.
   */
  livekit: {
    server: { url: string; apiKey: string; apiSecret: string } | undefined;
    /** Lifetime of a room token: short, since a kicked participant may rejoin until it expires. */
    tokenTtlSeconds: number;
  };
  /** Device audio sockets (GET /ws, /ws_pcm): src/realtime/. */
  realtime: {
    /** Largest WebSocket message accepted (ws maxPayload); a larger one closes with 1009. */
    maxFrameBytes: number;
    /** Live device sockets per user and per org, counted per instance (close 1013 beyond). */
    maxSocketsPerUser: number;
    maxSocketsPerOrg: number;
    /** Devices (distinct device names) one user may have in one org, revoked ones aside. */
    maxDevicesPerUser: number;
    /** Lifetime of a ticket from POST /api/realtime/tickets (single use, at most 60 s). */
    ticketTtlSeconds: number;
  };
  /**
   * Per-org concurrency quotas (src/quotas/): the platform's limits, each both the default of
   * every org and the bound an org's own limit may not exceed. Checked when a credential is
   * issued, counted across instances (Redis, or the database without REDIS_URL).
   */
  quotas: {
    /** Live calls, inbound and outbound together. */
    maxLiveCalls: number;
    /** Of those, slots only inbound calls may take (outbound stops at max - reserved). */
    inboundReservedCalls: number;
    maxVoiceSessions: number;
    maxDeviceSockets: number;
    /** Scheduled calls placed per UTC day, counted at dispatch. */
    maxScheduledCallsPerDay: number;
    /** A call's or voice session's slot is reclaimed after this if its end event never came. */
    leaseSeconds: number;
    /** A device socket's slot lives this long unless renewed (every third of it while open). */
    socketLeaseSeconds: number;
    /** A scheduled call refused for want of a live-call slot is tried again after this. */
    dispatchRetrySeconds: number;
  };
  /** Which secrets were generated into DATA_DIR at this start (for the startup warning). */
  generatedSecrets: readonly SecretName[];
}

/**
 * Reads variables by name, collecting problems instead of throwing: a bad value is reported and
 * its default kept, so that parsing goes on and the one error lists every problem.
 */
function createReader(env: Env) {
  const problems: string[] = [];
  const problem = (message: string) => {
    problems.push(message);
  };
  /** The value as set, untrimmed (passwords); empty counts as unset. */
  const raw = (name: Variable): string | undefined => {
    const v = env[name];
    return v === '' ? undefined : v;
  };
  const str = (name: Variable): string | undefined => {
    const t = env[name]?.trim();
    return t === '' ? undefined : t;
  };
  return {
    problems,
    problem,
    raw,
    str,
    oneOf<T extends readonly string[]>(name: Variable, allowed: T, fallback: T[number]): T[number] {
      const v = str(name);
      if (v === undefined) return fallback;
      if ((allowed as readonly string[]).includes(v)) return v as T[number];
      problem(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
      return fallback;
    },
    int(name: Variable, fallback: number, min: number, max: number): number {
      const v = str(name);
      if (v === undefined) return fallback;
      if (!/^\d+$/.test(v)) {
        problem(`${name} must be a whole number (got "${v}")`);
        return fallback;
      }
      const n = Number(v);
      if (n >= min && n <= max) return n;
      problem(`${name} must be between ${min} and ${max}`);
      return fallback;
    },
    bool(name: Variable, fallback: boolean): boolean {
      const v = str(name);
      if (v === undefined) return fallback;
      if (['true', '1', 'yes', 'on'].includes(v.toLowerCase())) return true;
      if (['false', '0', 'no', 'off'].includes(v.toLowerCase())) return false;
      problem(`${name} must be true or false (got "${v}")`);
      return fallback;
    },
    url(name: Variable, protocols: readonly string[]): string | undefined {
      const v = str(name);
      if (v === undefined) return undefined;
      let parsed: URL;
      try {
        parsed = new URL(v);
      } catch {
        // Never echo the value: URLs like DATABASE_URL carry passwords.
        problem(`${name} is not a valid URL`);
        return undefined;
      }
      if (protocols.includes(parsed.protocol)) return v;
      problem(`${name} must use ${protocols.join(' or ')}`);
      return undefined;
    },
  };
}
type Reader = ReturnType<typeof createReader>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const read = createReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', NODE_ENVS, 'development');
  const port = read.int('PORT', 8000, 0, 65535);
  const dataDir = resolve(read.str('DATA_DIR') ?? './data');
  const publicUrl = (
    read.url('PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`
  ).replace(/\/+$/, '');
  const localHttp = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(publicUrl);

  const secrets = resolveSecrets(read, nodeEnv, dataDir);
  const encryptionKeys = parseEncryptionKeys(read, secrets.values.ENCRYPTION_KEYS);
  const activeKeyId = read.str('ENCRYPTION_ACTIVE_KEY_ID') ?? encryptionKeys?.at(-1)?.id ?? '';
  const secretKey = Buffer.from(secrets.values.SECRET_KEY ?? '', 'utf8');
  if (secrets.values.SECRET_KEY !== undefined && secretKey.length < 32) {
    read.problem('SECRET_KEY must be at least 32 characters');
  }

  const password = {
    minLength: read.int('PASSWORD_MIN_LENGTH', 15, 8, 128),
    maxLength: read.int('PASSWORD_MAX_LENGTH', 128, 64, 1024),
  };
  const redisKeyPrefix = read.str('REDIS_KEY_PREFIX') ?? 'sb';
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(redisKeyPrefix)) {
    read.problem('REDIS_KEY_PREFIX may hold letters, digits, ":", "_" and "-" only');
  }
  const admin = readAdmin(read);
  const outboxAllowed = read.bool('MAIL_OUTBOX_ALLOWED', false);

  const config: Config = {
    nodeEnv,
    // Development and tests listen on loopback only: a laptop's dev server (with its generated
    // secrets and outbox links) is not for the café's network. Production listens everywhere.
    host: read.str('HOST') ?? (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1'),
    port,
    publicUrl,
    dataDir,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    trustProxy: readTrustProxy(read),
    database: {
      url: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolSize: read.int('DATABASE_POOL_SIZE', 10, 1, 1000),
      timeoutMs: read.int('DATABASE_TIMEOUT_MS', 3000, 100, 600_000),
      statementTimeoutMs: read.int('DATABASE_STATEMENT_TIMEOUT_MS', 15_000, 100, 3_600_000),
      lockTimeoutMs: read.int('DATABASE_LOCK_TIMEOUT_MS', 5000, 10, 3_600_000),
    },
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    encryption: { keys: encryptionKeys ?? [], activeKeyId },
    secretKey,
    auth: {
      issuer: read.str('JWT_ISSUER') ?? publicUrl,
      audience: read.str('JWT_AUDIENCE') ?? 'switchboard',
      accessTokenTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
      refreshIdleTtlSeconds: read.int(
        'REFRESH_TOKEN_IDLE_TTL_SECONDS',
        7 * 86_400,
        60,
        365 * 86_400,
      ),
      sessionAbsoluteTtlSeconds: read.int(
        'SESSION_ABSOLUTE_TTL_SECONDS',
        30 * 86_400,
        60,
        365 * 86_400,
      ),
      refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      revocationPollMs: read.int('REVOCATION_POLL_MS', 2000, 100, 60_000),
      signingKeyPublishDelaySeconds: read.int(
        'SIGNING_KEY_PUBLISH_DELAY_SECONDS',
        DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS,
        0,
        86_400,
      ),
      signupEnabled: read.bool('SIGNUP_ENABLED', true),
      requireEmailVerification: read.bool('REQUIRE_EMAIL_VERIFICATION', false),
      passwordResetTtlMinutes: read.int('PASSWORD_RESET_TTL_MINUTES', 30, 5, 1440),
      password,
      argon2: {
        memoryCost: read.int('ARGON2_MEMORY_COST', 19_456, 1024, 4_194_304),
        timeCost: read.int('ARGON2_TIME_COST', 2, 1, 100),
        parallelism: read.int('ARGON2_PARALLELISM', 1, 1, 16),
      },
      threadPoolSize: read.int('UV_THREADPOOL_SIZE', 4, 1, 1024),
      secureCookies: !(nodeEnv !== 'production' && localHttp),
    },
    mail: {
      smtpUrl: read.url('SMTP_URL', ['smtp:', 'smtps:']),
      from: readMailFrom(read) ?? `Switchboard <no-reply@${new URL(publicUrl).hostname}>`,
    },
    rateLimits: readLimitOverrides(env, read.problem),
    redisKeyPrefix,
    admin:
      admin.email && admin.password ? { email: admin.email, password: admin.password } : undefined,
    orgs: {
      invitationTtlDays: read.int('INVITATION_TTL_DAYS', 7, 1, 30),
      setPasswordTtlDays: read.int('SET_PASSWORD_TTL_DAYS', 7, 1, 30),
    },
    twilio: readTwilio(read),
    dispatcher: {
      // Off by default under NODE_ENV=test: only the tests that exercise it turn it on.
      enabled: read.bool('DISPATCHER_ENABLED', nodeEnv !== 'test'),
      pollMs: read.int('DISPATCHER_POLL_MS', 1000, 10, 600_000),
      batchSize: read.int('DISPATCHER_BATCH_SIZE', 10, 1, 500),
      leaseSeconds: read.int('DISPATCHER_LEASE_SECONDS', 120, 5, 86_400),
      maxAttempts: read.int('DISPATCHER_MAX_ATTEMPTS', 5, 1, 100),
      retryBaseMs: read.int('DISPATCHER_RETRY_BASE_MS', 30_000, 10, 3_600_000),
    },
    conversations: {
      idleTimeoutSeconds: read.int('AUDIO_IDLE_TIMEOUT_SECONDS', 60, 1, 86_400),
      maxBytes: read.int('AUDIO_MAX_CONVERSATION_BYTES', 512 * 1_048_576, 1024, 4_000_000_000),
      // 10 GiB; 1 MiB to 1 PiB (2^50: far inside a double's exact integers).
      maxOrgBytes: read.int('AUDIO_MAX_ORG_BYTES', 10 * 1_073_741_824, 1_048_576, 2 ** 50),
      writeBufferBytes: read.int('AUDIO_WRITE_BUFFER_BYTES', 256 * 1024, 4096, 64 * 1_048_576),
    },
    scheduledCalls: {
      maxPending: read.int('SCHEDULED_CALLS_MAX_PENDING', 1000, 1, 1_000_000),
    },
    livekit: readLiveKit(read, nodeEnv),
    realtime: {
      maxFrameBytes: read.int('REALTIME_MAX_FRAME_BYTES', 65_536, 1024, 16 * 1_048_576),
      maxSocketsPerUser: read.int('REALTIME_MAX_SOCKETS_PER_USER', 10, 1, 100_000),
      maxSocketsPerOrg: read.int('REALTIME_MAX_SOCKETS_PER_ORG', 1000, 1, 1_000_000),
      maxDevicesPerUser: read.int('REALTIME_MAX_DEVICES_PER_USER', 100, 1, 100_000),
      ticketTtlSeconds: read.int('REALTIME_TICKET_TTL_SECONDS', 30, 5, 60),
    },
    quotas: {
      maxLiveCalls: read.int('QUOTA_MAX_LIVE_CALLS', 100, 0, 1_000_000),
      inboundReservedCalls: read.int('QUOTA_INBOUND_RESERVED_CALLS', 10, 0, 1_000_000),
      maxVoiceSessions: read.int('QUOTA_MAX_VOICE_SESSIONS', 100, 0, 1_000_000),
      maxDeviceSockets: read.int('QUOTA_MAX_DEVICE_SOCKETS', 1000, 0, 1_000_000),
      maxScheduledCallsPerDay: read.int('QUOTA_MAX_SCHEDULED_CALLS_PER_DAY', 10_000, 0, 10_000_000),
      leaseSeconds: read.int('QUOTA_LEASE_SECONDS', 14_400, 60, 7 * 86_400),
      socketLeaseSeconds: read.int('QUOTA_SOCKET_LEASE_SECONDS', 120, 15, 3600),
      dispatchRetrySeconds: read.int('QUOTA_DISPATCH_RETRY_SECONDS', 60, 1, 86_400),
    },
    generatedSecrets: secrets.generated,
  };

  checkRules(read.problem, config, {
    missingSecrets: secrets.missing,
    encryptionKeysValid: encryptionKeys !== undefined,
    admin,
    outboxAllowed,
    publicUrlSet: read.str('PUBLIC_URL') !== undefined,
  });
  checkDataDir(read.problem, config);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  // Only a configuration that starts keeps the secrets generated for it.
  try {
    secrets.persist();
  } catch (err) {
    throw new ConfigError([
      `DATA_DIR ${dataDir} cannot be written: secrets.json (${errorCode(err)})`,
    ]);
  }
  return deepFreeze(config);
}

/**
 * The rules between settings, all in one place. Each runs on the values as read (a malformed one
 * already reported and replaced by its default) and names every variable it involves.
 */
function checkRules(
  problem: (message: string) => void,
  config: Config,
  read: {
    missingSecrets: readonly SecretName[];
    encryptionKeysValid: boolean;
    admin: ReturnType<typeof readAdmin>;
    outboxAllowed: boolean;
    publicUrlSet: boolean;
  },
): void {
  const production = config.nodeEnv === 'production';
  // PORT=0 listens on a port the system picks, which the default PUBLIC_URL cannot know: it would
  // say http://localhost:0, refusing every browser write as cross-site and mailing dead links.
  if (config.port === 0 && !read.publicUrlSet) {
    problem(
      'PORT=0 (a port the system picks) needs PUBLIC_URL: the default PUBLIC_URL is http://localhost:$PORT; set PORT to the port to listen on, or PUBLIC_URL to the URL users reach',
    );
  }
  if (production && read.missingSecrets.length > 0) {
    problem(
      `NODE_ENV=production requires these secrets to be set: ${read.missingSecrets.join(', ')}`,
    );
  }
  // Mails carry password-reset, verification and invitation links. Without SMTP they pile up as
  // files on the server's disk, where nobody in production expects bearer credentials.
  if (production && config.mail.smtpUrl === undefined && !read.outboxAllowed) {
    problem(
      'NODE_ENV=production requires SMTP_URL to send mail (password reset, verification and ' +
        'invitation links); to write mails to DATA_DIR/outbox instead, set MAIL_OUTBOX_ALLOWED=true',
    );
  }

  const { keys, activeKeyId } = config.encryption;
  if (read.encryptionKeysValid && !keys.some((k) => k.id === activeKeyId)) {
    problem(`ENCRYPTION_ACTIVE_KEY_ID "${activeKeyId}" is not in ENCRYPTION_KEYS`);
  }

  const policy = config.auth.password;
  if (policy.minLength > policy.maxLength) {
    problem('PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH');
  }

  // The platform superuser: a weak bootstrap password would be the weakest door into every org,
  // so it must pass the same rules as every other password.
  const { emailSet, email, password } = read.admin;
  if (!emailSet && password !== undefined) problem('ADMIN_PASSWORD is set but ADMIN_EMAIL is not');
  if (emailSet && password === undefined) problem('ADMIN_EMAIL is set but ADMIN_PASSWORD is not');
  if (email && password !== undefined) {
    const problems = checkPassword(password, { email }, policy);
    if (problems.length > 0) {
      // Name the rules, never the value.
      problem(
        `ADMIN_PASSWORD does not meet the password rules: it ${problems.map((p) => p.message).join('; ')}`,
      );
    }
  }

  const { accountSid, authToken, requestTimeoutMs } = config.twilio;
  if ((accountSid === undefined) !== (authToken === undefined)) {
    problem('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together');
  }
  // A lock wait is part of a statement: a lock timeout above the statement timeout never fires.
  if (config.database.lockTimeoutMs > config.database.statementTimeoutMs) {
    problem('DATABASE_LOCK_TIMEOUT_MS must not exceed DATABASE_STATEMENT_TIMEOUT_MS');
  }
  // A lease shorter than a slow Twilio request would hand a call that is still being placed to
  // another instance: the one way left to place it twice.
  if (config.dispatcher.leaseSeconds * 1000 < requestTimeoutMs * 2) {
    problem('DISPATCHER_LEASE_SECONDS must be at least twice TWILIO_TIMEOUT_MS');
  }

  if (config.quotas.inboundReservedCalls > config.quotas.maxLiveCalls) {
    problem('QUOTA_INBOUND_RESERVED_CALLS must not exceed QUOTA_MAX_LIVE_CALLS');
  }

  // One IP must never be able to lock an account (src/security/rate-limits.ts).
  for (const message of loginInvariantProblems(config.rateLimits)) problem(message);
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * DATA_DIR is written at run time (device audio always; the embedded database without
 * DATABASE_URL; mails without SMTP_URL; generated secrets): found unusable there, it would fail
 * a first start with a stack trace, or a later request (a mail silently lost, a stream closed).
 * So it is created and written once here, naming the variable with the system's reason.
 */
function checkDataDir(problem: (message: string) => void, config: Config): void {
  const dir = config.dataDir;
  const uses = [
    'device audio (conversations/)',
    ...(config.database.url === undefined ? ['the embedded database (pgdata/)'] : []),
    ...(config.mail.smtpUrl === undefined ? ['the mail outbox (outbox/)'] : []),
    ...(config.generatedSecrets.length > 0 ? ['generated secrets (secrets.json)'] : []),
  ];
  const fail = (what: string, err: unknown) =>
    problem(
      `DATA_DIR ${what} cannot be created or written (${errorCode(err)}); it holds ${uses.join(', ')}`,
    );
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-check-${process.pid}-${randomBytes(6).toString('hex')}`);
    writeFileSync(probe, '', { flag: 'wx' });
    unlinkSync(probe);
  } catch (err) {
    fail(dir, err);
    return;
  }
  // Folders an earlier start made: writable by this process too (another user may own them).
  const subdirs = [
    'conversations',
    ...(config.database.url === undefined ? ['pgdata'] : []),
    ...(config.mail.smtpUrl === undefined ? ['outbox'] : []),
  ];
  for (const sub of subdirs) {
    const path = join(dir, sub);
    if (!existsSync(path)) continue;
    try {
      accessSync(path, constants.W_OK | constants.X_OK);
    } catch (err) {
      fail(path, err);
    }
  }
}

/** TRUST_PROXY names the proxies whose X-Forwarded-For is believed. */
/** proxy-addr's named ranges, which Fastify's trustProxy also takes. */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One TRUST_PROXY entry: an IP, an IP/prefix, an IPv4/netmask, or a named range. */
function isProxyEntry(entry: string): boolean {
  if (NAMED_PROXY_RANGES.has(entry)) return true;
  const [address, range, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (rest.length > 0 || family === 0) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}

/**
 * MAIL_FROM: one mailbox, as the mailer parses it (`no-reply@host`, `Name <no-reply@host>`, a
 * quoted name with commas). Anything else the mailer dropped, and every mail went out without a
 * From header (refused or filed as spam); a line break would be a header of its own.
 */
function readMailFrom(read: Reader): string | undefined {
  const raw = read.str('MAIL_FROM');
  if (raw === undefined) return undefined;
  const parsed = /[\r\n]/.test(raw) ? [] : addressparser(raw);
  const one = parsed.length === 1 ? parsed[0] : undefined;
  const address = one && 'address' in one ? one.address : '';
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
    read.problem('MAIL_FROM must be one address, e.g. "Switchboard <no-reply@example.com>"');
  }
  return raw;
}

function readTrustProxy(read: Reader): string | false {
  const v = read.str('TRUST_PROXY');
  if (v === undefined || v === 'false') return false;
  if (v === 'true') {
    // Trusting every hop lets any client pick its own IP via X-Forwarded-For.
    read.problem('TRUST_PROXY must name the proxies (IPs/CIDRs, comma-separated), not "true"');
    return false;
  }
  // Checked here, where the variable is named: Fastify would refuse it only as the app is built,
  // after the migrations, with a stack trace naming neither the variable nor the entry's place.
  const bad = v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => !isProxyEntry(e));
  if (bad.length > 0) {
    read.problem(
      `TRUST_PROXY must be IPs or CIDRs of your proxies, comma-separated (or loopback, linklocal, uniquelocal); not ${bad.map((e) => JSON.stringify(e)).join(', ')}`,
    );
    return false;
  }
  return v;
}

/** ENCRYPTION_KEYS="id1:base64key,id2:base64key" — each key 32 bytes (AES-256). */
function parseEncryptionKeys(read: Reader, raw: string | undefined): EncryptionKey[] | undefined {
  if (raw === undefined) return undefined;
  const name = 'ENCRYPTION_KEYS';
  const keys: EncryptionKey[] = [];
  for (const part of raw.split(',')) {
    const [id, b64, ...rest] = part.trim().split(':');
    if (!id || !b64 || rest.length > 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      read.problem(`${name} must be a comma-separated list of id:base64key`);
      return undefined;
    }
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) {
      read.problem(`${name}: key "${id}" must be 32 bytes (base64)`);
      return undefined;
    }
    if (keys.some((k) => k.id === id)) {
      read.problem(`${name}: duplicate key id "${id}"`);
      return undefined;
    }
    keys.push({ id, key });
  }
  return keys;
}

function generateSecret(name: SecretName): string {
  switch (name) {
    case 'ENCRYPTION_KEYS':
      return `k1:${randomBytes(32).toString('base64')}`;
    case 'SECRET_KEY':
      return randomBytes(32).toString('base64url');
  }
}

/**
 * Secrets come from the environment; in development (and tests) missing ones are generated once
 * into DATA_DIR/secrets.json (mode 0600) and reused on every later start. In production the
 * missing ones are left missing (checkRules refuses them). `persist` writes what was generated.
 */
function resolveSecrets(
  read: Reader,
  nodeEnv: Config['nodeEnv'],
  dataDir: string,
): {
  values: Partial<Record<SecretName, string>>;
  missing: SecretName[];
  generated: SecretName[];
  persist: () => void;
} {
  const values: Partial<Record<SecretName, string>> = {};
  const missing: SecretName[] = [];
  for (const name of SECRET_NAMES) {
    const v = read.str(name);
    if (v === undefined) missing.push(name);
    else values[name] = v;
  }
  const nothing = { values, missing, generated: [], persist: () => {} };
  if (missing.length === 0 || nodeEnv === 'production') return nothing;
  const file = join(dataDir, 'secrets.json');
  let stored: Partial<Record<SecretName, string>> = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      read.problem(`${file} is not valid JSON; fix or remove it`);
      return { ...nothing, missing: [] };
    }
  }
  const generated: SecretName[] = [];
  for (const name of missing) {
    const existing = stored[name];
    if (existing) values[name] = existing;
    else {
      values[name] = generateSecret(name);
      stored[name] = values[name];
      generated.push(name);
    }
  }
  const persist = () => {
    if (generated.length === 0) return;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  };
  return { values, missing: [], generated, persist };
}

/** ADMIN_EMAIL / ADMIN_PASSWORD as set; the pair and password rules are in checkRules. */
function readAdmin(read: Reader) {
  const rawEmail = read.str('ADMIN_EMAIL');
  const password = read.raw('ADMIN_PASSWORD');
  const email = rawEmail === undefined ? null : normalizeEmail(rawEmail);
  if (rawEmail !== undefined && email === null) {
    read.problem('ADMIN_EMAIL is not a valid email address');
  }
  return { emailSet: rawEmail !== undefined, email, password };
}

/** The platform Twilio account; messages never echo the token. */
function readTwilio(read: Reader): Config['twilio'] {
  const accountSid = read.str('TWILIO_ACCOUNT_SID');
  const authToken = read.str('TWILIO_AUTH_TOKEN');
  if (accountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    read.problem('TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex digits');
  }
  if (authToken !== undefined && !/^[A-Za-z0-9]{16,128}$/.test(authToken)) {
    read.problem('TWILIO_AUTH_TOKEN is not a valid Twilio auth token');
  }
  return {
    accountSid,
    authToken,
    apiUrl: read.url('TWILIO_API_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    requestTimeoutMs: read.int('TWILIO_TIMEOUT_MS', 15_000, 100, 120_000),
    streamTokenTtlSeconds: read.int('STREAM_TOKEN_TTL_SECONDS', 120, 10, 3600),
  };
}

/** LiveKit: all three of URL, key and secret, or none; messages never echo the secret. */
function readLiveKit(read: Reader, nodeEnv: Config['nodeEnv']): Config['livekit'] {
  const url = read.url('LIVEKIT_URL', ['wss:', 'ws:', 'https:', 'http:'])?.replace(/\/+$/, '');
  const urlSet = read.str('LIVEKIT_URL') !== undefined;
  const apiKey = read.str('LIVEKIT_API_KEY');
  const apiSecret = read.raw('LIVEKIT_API_SECRET');
  const tokenTtlSeconds = read.int('LIVEKIT_TOKEN_TTL_SECONDS', 3600, 60, 86_400);
  const set = {
    LIVEKIT_URL: urlSet,
    LIVEKIT_API_KEY: apiKey !== undefined,
    LIVEKIT_API_SECRET: apiSecret !== undefined,
  };
  const missing = Object.entries(set)
    .filter(([, isSet]) => !isSet)
    .map(([name]) => name);
  if (missing.length > 0 && missing.length < 3) {
    read.problem(
      `LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set together (missing: ${missing.join(', ')})`,
    );
  }
  if (apiKey !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(apiKey)) {
    read.problem('LIVEKIT_API_KEY must be 1-128 letters, digits, "_" or "-"');
  }
  // The secret signs room tokens (HS256): a short one can be brute-forced offline from any token.
  if (apiSecret !== undefined && nodeEnv === 'production' && apiSecret.length < 32) {
    read.problem('LIVEKIT_API_SECRET must be at least 32 characters when NODE_ENV=production');
  }
  const server =
    url !== undefined && apiKey !== undefined && apiSecret !== undefined
      ? { url, apiKey, apiSecret }
      : undefined;
  return { server, tokenTtlSeconds };
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
