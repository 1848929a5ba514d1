// The one configuration module: every setting is read from the environment here, once,
// validated, typed and frozen. A bad value is a startup error that names the variable.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const NODE_ENVS = ['development', 'production', 'test'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Secrets the server needs; generated into DATA_DIR in development, required in production. */
export const SECRET_NAMES = ['ENCRYPTION_KEYS'] as const;
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
    generatedSecrets: secrets.generated,
  };
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
