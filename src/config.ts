// The one configuration module: every setting is read from the environment here, once,
// validated, typed and frozen. A bad value is a startup error that names the variable.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS } from './crypto/signing-key-timing.ts';
import { normalizeEmail } from './mail/email-address.ts';
import { checkPassword } from './security/password-policy.ts';
import { type LimitName, type LimitSpec, parseLimitOverrides } from './security/rate-limits.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const NODE_ENVS = ['development', 'production', 'test'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Secrets the server needs; generated into DATA_DIR in development, required in production. */
export const SECRET_NAMES = ['ENCRYPTION_KEYS', 'SECRET_KEY'] as const;
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
    /** connect and statement timeout, so an unreachable database answers 503 instead of hanging */
    timeoutMs: number;
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
    /** Lifetime of the token the TwiML hands to the agent's media stream. */
    streamTokenTtlSeconds: number;
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
  /** Which secrets were generated into DATA_DIR at this start (for the startup warning). */
  generatedSecrets: readonly SecretName[];
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function oneOf<T extends readonly string[]>(
  env: Env,
  name: string,
  allowed: T,
  fallback: T[number],
): T[number] {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
  }
  return v as T[number];
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be a whole number (got "${v}")`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(v.toLowerCase())) return true;
  if (['false', '0', 'no', 'off'].includes(v.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false (got "${v}")`);
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    // Never echo the value: URLs like DATABASE_URL carry passwords.
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}`);
  }
  return v;
}

/** ENCRYPTION_KEYS="id1:base64key,id2:base64key" — each key 32 bytes (AES-256). */
export function parseEncryptionKeys(raw: string, name = 'ENCRYPTION_KEYS'): EncryptionKey[] {
  const keys: EncryptionKey[] = [];
  for (const part of raw.split(',')) {
    const [id, b64, ...rest] = part.trim().split(':');
    if (!id || !b64 || rest.length > 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      throw new ConfigError(`${name} must be a comma-separated list of id:base64key`);
    }
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new ConfigError(`${name}: key "${id}" must be 32 bytes (base64)`);
    if (keys.some((k) => k.id === id)) throw new ConfigError(`${name}: duplicate key id "${id}"`);
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
 * into DATA_DIR/secrets.json (mode 0600) and reused on every later start.
 */
function resolveSecrets(
  env: Env,
  nodeEnv: Config['nodeEnv'],
  dataDir: string,
): { values: Record<SecretName, string>; generated: SecretName[] } {
  const values = {} as Record<SecretName, string>;
  const missing: SecretName[] = [];
  for (const name of SECRET_NAMES) {
    const v = str(env, name);
    if (v === undefined) missing.push(name);
    else values[name] = v;
  }
  if (missing.length === 0) return { values, generated: [] };
  if (nodeEnv === 'production') {
    throw new ConfigError(
      `NODE_ENV=production requires these secrets to be set: ${missing.join(', ')}`,
    );
  }
  const file = join(dataDir, 'secrets.json');
  let stored: Partial<Record<SecretName, string>> = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new ConfigError(`${file} is not valid JSON; fix or remove it`);
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
  if (generated.length > 0) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { values, generated };
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const nodeEnv = oneOf(env, 'NODE_ENV', NODE_ENVS, 'development');
  const port = int(env, 'PORT', 8000, 0, 65535);
  const dataDir = resolve(str(env, 'DATA_DIR') ?? './data');
  const publicUrl = (
    url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`
  ).replace(/\/+$/, '');

  const trustProxyRaw = str(env, 'TRUST_PROXY');
  const trustProxy =
    trustProxyRaw === undefined || trustProxyRaw === 'false' ? false : trustProxyRaw;
  if (trustProxy === 'true') {
    // Trusting every hop lets any client pick its own IP via X-Forwarded-For.
    throw new ConfigError(
      'TRUST_PROXY must name the proxies (IPs/CIDRs, comma-separated), not "true"',
    );
  }

  const secrets = resolveSecrets(env, nodeEnv, dataDir);
  const keys = parseEncryptionKeys(secrets.values.ENCRYPTION_KEYS);
  const activeKeyId = str(env, 'ENCRYPTION_ACTIVE_KEY_ID') ?? keys[keys.length - 1]!.id;
  if (!keys.some((k) => k.id === activeKeyId)) {
    throw new ConfigError(`ENCRYPTION_ACTIVE_KEY_ID "${activeKeyId}" is not in ENCRYPTION_KEYS`);
  }

  const secretKey = Buffer.from(secrets.values.SECRET_KEY, 'utf8');
  if (secretKey.length < 32) throw new ConfigError('SECRET_KEY must be at least 32 characters');

  const minLength = int(env, 'PASSWORD_MIN_LENGTH', 15, 8, 128);
  const maxLength = int(env, 'PASSWORD_MAX_LENGTH', 128, 64, 1024);
  if (minLength > maxLength) {
    throw new ConfigError('PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH');
  }
  const localHttp = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(publicUrl);
  let rateLimits: Record<LimitName, LimitSpec>;
  try {
    rateLimits = parseLimitOverrides(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const redisKeyPrefix = str(env, 'REDIS_KEY_PREFIX') ?? 'sb';
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(redisKeyPrefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX may hold letters, digits, ":", "_" and "-" only');
  }

  const admin = parseAdmin(env, { minLength, maxLength });

  const config: Config = {
    nodeEnv,
    host: str(env, 'HOST') ?? '0.0.0.0',
    port,
    publicUrl,
    dataDir,
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    trustProxy,
    database: {
      url: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
      poolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
      timeoutMs: int(env, 'DATABASE_TIMEOUT_MS', 3000, 100, 600_000),
    },
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    encryption: { keys, activeKeyId },
    secretKey,
    auth: {
      issuer: str(env, 'JWT_ISSUER') ?? publicUrl,
      audience: str(env, 'JWT_AUDIENCE') ?? 'switchboard',
      accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
      refreshIdleTtlSeconds: int(
        env,
        'REFRESH_TOKEN_IDLE_TTL_SECONDS',
        7 * 86_400,
        60,
        365 * 86_400,
      ),
      sessionAbsoluteTtlSeconds: int(
        env,
        'SESSION_ABSOLUTE_TTL_SECONDS',
        30 * 86_400,
        60,
        365 * 86_400,
      ),
      refreshReuseGraceSeconds: int(env, 'REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      revocationPollMs: int(env, 'REVOCATION_POLL_MS', 2000, 100, 60_000),
      signingKeyPublishDelaySeconds: int(
        env,
        'SIGNING_KEY_PUBLISH_DELAY_SECONDS',
        DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS,
        0,
        86_400,
      ),
      signupEnabled: bool(env, 'SIGNUP_ENABLED', true),
      requireEmailVerification: bool(env, 'REQUIRE_EMAIL_VERIFICATION', false),
      passwordResetTtlMinutes: int(env, 'PASSWORD_RESET_TTL_MINUTES', 30, 5, 1440),
      password: { minLength, maxLength },
      argon2: {
        memoryCost: int(env, 'ARGON2_MEMORY_COST', 19_456, 1024, 4_194_304),
        timeCost: int(env, 'ARGON2_TIME_COST', 2, 1, 100),
        parallelism: int(env, 'ARGON2_PARALLELISM', 1, 1, 16),
      },
      secureCookies: !(nodeEnv !== 'production' && localHttp),
    },
    mail: {
      smtpUrl: parseSmtpUrl(env, nodeEnv),
      from: str(env, 'MAIL_FROM') ?? `Switchboard <no-reply@${new URL(publicUrl).hostname}>`,
    },
    rateLimits,
    redisKeyPrefix,
    admin,
    orgs: {
      invitationTtlDays: int(env, 'INVITATION_TTL_DAYS', 7, 1, 30),
      setPasswordTtlDays: int(env, 'SET_PASSWORD_TTL_DAYS', 7, 1, 30),
    },
    twilio: parseTwilio(env),
    dispatcher: {
      // Off by default under NODE_ENV=test: only the tests that exercise it turn it on.
      enabled: bool(env, 'DISPATCHER_ENABLED', nodeEnv !== 'test'),
      pollMs: int(env, 'DISPATCHER_POLL_MS', 1000, 10, 600_000),
      batchSize: int(env, 'DISPATCHER_BATCH_SIZE', 10, 1, 500),
      leaseSeconds: int(env, 'DISPATCHER_LEASE_SECONDS', 120, 5, 86_400),
      maxAttempts: int(env, 'DISPATCHER_MAX_ATTEMPTS', 5, 1, 100),
      retryBaseMs: int(env, 'DISPATCHER_RETRY_BASE_MS', 30_000, 10, 3_600_000),
    },
    scheduledCalls: {
      maxPending: int(env, 'SCHEDULED_CALLS_MAX_PENDING', 1000, 1, 1_000_000),
    },
    generatedSecrets: secrets.generated,
  };
  return deepFreeze(config);
}

/**
 * ADMIN_EMAIL and ADMIN_PASSWORD come together. The password must pass the same rules as every
 * other password: a weak bootstrap password would be the weakest door into every org.
 */
function parseAdmin(env: Env, policy: { minLength: number; maxLength: number }): Config['admin'] {
  const rawEmail = str(env, 'ADMIN_EMAIL');
  const password = env.ADMIN_PASSWORD === '' ? undefined : env.ADMIN_PASSWORD;
  if (rawEmail === undefined && password === undefined) return undefined;
  if (rawEmail === undefined) throw new ConfigError('ADMIN_PASSWORD is set but ADMIN_EMAIL is not');
  if (password === undefined) throw new ConfigError('ADMIN_EMAIL is set but ADMIN_PASSWORD is not');
  const email = normalizeEmail(rawEmail);
  if (!email) throw new ConfigError('ADMIN_EMAIL is not a valid email address');
  const problems = checkPassword(password, { email }, policy);
  if (problems.length > 0) {
    // Name the rules, never the value.
    throw new ConfigError(
      `ADMIN_PASSWORD does not meet the password rules: it ${problems.map((p) => p.message).join('; ')}`,
    );
  }
  return { email, password };
}

/**
 * Mails carry password-reset, verification and invitation links. Without SMTP they pile up as
 * files on the server's disk, where nobody in production expects bearer credentials: production
 * needs SMTP_URL, or an operator who opts in to the outbox by name.
 */
function parseSmtpUrl(env: Env, nodeEnv: Config['nodeEnv']): string | undefined {
  const smtpUrl = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  const outboxAllowed = bool(env, 'MAIL_OUTBOX_ALLOWED', false);
  if (nodeEnv === 'production' && smtpUrl === undefined && !outboxAllowed) {
    throw new ConfigError(
      'NODE_ENV=production requires SMTP_URL to send mail (password reset, verification and ' +
        'invitation links); to write mails to DATA_DIR/outbox instead, set MAIL_OUTBOX_ALLOWED=true',
    );
  }
  return smtpUrl;
}

/** TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN come together; messages never echo the token. */
function parseTwilio(env: Env): Config['twilio'] {
  const accountSid = str(env, 'TWILIO_ACCOUNT_SID');
  const authToken = str(env, 'TWILIO_AUTH_TOKEN');
  if ((accountSid === undefined) !== (authToken === undefined)) {
    throw new ConfigError('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together');
  }
  if (accountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    throw new ConfigError('TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex digits');
  }
  if (authToken !== undefined && !/^[A-Za-z0-9]{16,128}$/.test(authToken)) {
    throw new ConfigError('TWILIO_AUTH_TOKEN is not a valid Twilio auth token');
  }
  const requestTimeoutMs = int(env, 'TWILIO_TIMEOUT_MS', 15_000, 100, 120_000);
  const leaseMs = int(env, 'DISPATCHER_LEASE_SECONDS', 120, 5, 86_400) * 1000;
  if (leaseMs < requestTimeoutMs * 2) {
    // A lease shorter than a slow Twilio request would hand a call that is still being placed to
    // another instance: the one way left to place it twice.
    throw new ConfigError('DISPATCHER_LEASE_SECONDS must be at least twice TWILIO_TIMEOUT_MS');
  }
  return {
    accountSid,
    authToken,
    apiUrl: url(env, 'TWILIO_API_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    requestTimeoutMs,
    streamTokenTtlSeconds: int(env, 'STREAM_TOKEN_TTL_SECONDS', 120, 10, 3600),
  };
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
