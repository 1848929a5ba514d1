import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, describeConfigError, ENV_VARIABLES, loadConfig } from './config.ts';

const dirs: string[] = [];
function dataDir() {
  const d = mkdtempSync(join(tmpdir(), 'sb-config-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const KEYS = `k1:${Buffer.alloc(32, 1).toString('base64')}`;

describe('config', () => {
  it('has working defaults and is frozen', () => {
    const c = loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS });
    expect(c.port).toBe(8000);
    expect(c.nodeEnv).toBe('development');
    expect(c.database.url).toBeUndefined();
    expect(c.publicUrl).toBe('http://localhost:8000');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.database)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow();
  });

  it.each([
    ['PORT', 'eighty', /PORT/],
    ['PORT', '70000', /PORT/],
    ['NODE_ENV', 'prod', /NODE_ENV/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['DATABASE_URL', 'mysql://x@y/z', /DATABASE_URL/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL/],
    ['REDIS_URL', 'http://x', /REDIS_URL/],
    ['BODY_LIMIT_BYTES', '-1', /BODY_LIMIT_BYTES/],
    ['ENCRYPTION_KEYS', 'k1:short', /ENCRYPTION_KEYS/],
    ['ENCRYPTION_ACTIVE_KEY_ID', 'nope', /ENCRYPTION_ACTIVE_KEY_ID/],
    ['TRUST_PROXY', 'true', /TRUST_PROXY/],
    ['TRUST_PROXY', 'garbage', /TRUST_PROXY .*"garbage"/],
    ['TRUST_PROXY', '10.0.0.1, 10.0.0.0/33', /TRUST_PROXY .*"10\.0\.0\.0\/33"/],
    ['TRUST_PROXY', '1', /TRUST_PROXY/],
    ['SIGNUP_ENABLED', 'maybe', /SIGNUP_ENABLED/],
    ['SMTP_URL', 'http://mail', /SMTP_URL/],
    ['RATE_LIMIT_LOGIN_IP', 'ten', /RATE_LIMIT_LOGIN_IP/],
    ['PASSWORD_MIN_LENGTH', '4', /PASSWORD_MIN_LENGTH/],
    ['SECRET_KEY', 'too-short', /SECRET_KEY/],
    ['QUOTA_MAX_LIVE_CALLS', 'many', /QUOTA_MAX_LIVE_CALLS/],
    ['QUOTA_SOCKET_LEASE_SECONDS', '5', /QUOTA_SOCKET_LEASE_SECONDS/],
    ['QUOTA_INBOUND_RESERVED_CALLS', '101', /QUOTA_INBOUND_RESERVED_CALLS must not exceed/],
    ['AUDIO_MAX_ORG_BYTES', '10GiB', /AUDIO_MAX_ORG_BYTES must be a whole number/],
    ['AUDIO_MAX_ORG_BYTES', '1048575', /AUDIO_MAX_ORG_BYTES must be between 1048576 and/],
    ['AUDIO_MAX_ORG_BYTES', String(2 ** 50 + 1), /AUDIO_MAX_ORG_BYTES must be between/],
    ['MAIL_FROM', 'not an address', /MAIL_FROM must be one address/],
    ['MAIL_FROM', 'Switchboard <no-reply>', /MAIL_FROM must be one address/],
    ['MAIL_FROM', 'a@example.com, b@example.com', /MAIL_FROM must be one address/],
    ['MAIL_FROM', 'Acme, Inc. <a@example.com>', /MAIL_FROM must be one address/],
    ['MAIL_FROM', 'A <a@example.com>\r\nBcc: x@example.com', /MAIL_FROM must be one address/],
  ])('a malformed %s=%s is a startup error naming it', (name, value, re) => {
    const env = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS, [name]: value };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(re);
  });

  it('takes MAIL_FROM as one address, with or without a name', () => {
    for (const from of [
      'no-reply@example.com',
      'Switchboard <no-reply@example.com>',
      '"Acme, Inc." <calls@acme.example>',
      'Dev <no-reply@localhost>',
    ]) {
      const c = loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS, MAIL_FROM: from });
      expect(c.mail.from).toBe(from);
    }
  });

  it('takes TRUST_PROXY as IPs, CIDRs, IPv4 netmasks and the named ranges', () => {
    const list = '10.0.0.1, 192.168.0.0/16,loopback, ::1, fd00::/8, 10.0.0.0/255.0.0.0';
    const c = loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS, TRUST_PROXY: list });
    expect(c.trustProxy).toBe(list);
    expect(loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS }).trustProxy).toBe(false);
  });

  it('reads the platform quotas, the default and bound of every org', () => {
    const c = loadConfig({
      DATA_DIR: dataDir(),
      ENCRYPTION_KEYS: KEYS,
      QUOTA_MAX_LIVE_CALLS: '40',
      QUOTA_INBOUND_RESERVED_CALLS: '40',
      QUOTA_MAX_SCHEDULED_CALLS_PER_DAY: '0',
    });
    expect(c.quotas).toEqual({
      maxLiveCalls: 40,
      inboundReservedCalls: 40,
      maxVoiceSessions: 100,
      maxDeviceSockets: 1000,
      maxScheduledCallsPerDay: 0,
      leaseSeconds: 14_400,
      socketLeaseSeconds: 120,
      dispatchRetrySeconds: 60,
    });
  });

  it("reads the audio limits: one org's stored audio defaults to 10 GiB, up to 1 PiB", () => {
    const base = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS };
    expect(loadConfig(base).conversations).toEqual({
      idleTimeoutSeconds: 60,
      maxBytes: 512 * 1_048_576,
      maxOrgBytes: 10 * 1_073_741_824,
      writeBufferBytes: 256 * 1024,
    });
    expect(
      loadConfig({ ...base, AUDIO_MAX_ORG_BYTES: String(2 ** 50) }).conversations.maxOrgBytes,
    ).toBe(2 ** 50);
    expect(loadConfig({ ...base, AUDIO_MAX_ORG_BYTES: '1048576' }).conversations.maxOrgBytes).toBe(
      1_048_576,
    );
  });

  it('never echoes a database URL (it carries a password)', () => {
    try {
      loadConfig({
        DATA_DIR: dataDir(),
        ENCRYPTION_KEYS: KEYS,
        DATABASE_URL: 'mysql://u:hunter2@h/d',
      });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('in production refuses to start without secrets, naming them', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() })).toThrow(
      /ENCRYPTION_KEYS/,
    );
  });

  it('in production refuses to start without SMTP_URL unless the outbox is allowed explicitly', () => {
    const prod = { NODE_ENV: 'production', ENCRYPTION_KEYS: KEYS, SECRET_KEY: 'x'.repeat(32) };
    // Outbox mode would put reset, verification and invitation links on a production disk.
    expect(() => loadConfig({ ...prod, DATA_DIR: dataDir() })).toThrow(ConfigError);
    expect(() => loadConfig({ ...prod, DATA_DIR: dataDir() })).toThrow(
      /SMTP_URL.*MAIL_OUTBOX_ALLOWED=true/s,
    );
    expect(() =>
      loadConfig({ ...prod, DATA_DIR: dataDir(), MAIL_OUTBOX_ALLOWED: 'false' }),
    ).toThrow(/SMTP_URL/);
    const smtp = loadConfig({ ...prod, DATA_DIR: dataDir(), SMTP_URL: 'smtp://mail.test:587' });
    expect(smtp.mail.smtpUrl).toBe('smtp://mail.test:587');
    const outbox = loadConfig({ ...prod, DATA_DIR: dataDir(), MAIL_OUTBOX_ALLOWED: 'true' });
    expect(outbox.mail.smtpUrl).toBeUndefined();
    expect(() =>
      loadConfig({ ...prod, DATA_DIR: dataDir(), MAIL_OUTBOX_ALLOWED: 'maybe' }),
    ).toThrow(/MAIL_OUTBOX_ALLOWED/);
    // Development and test keep the outbox as the default.
    expect(loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS }).mail.smtpUrl).toBeUndefined();
  });

  it('stages rotated signing keys for the JWKS max-age plus one ring reload by default', () => {
    const c = loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS });
    expect(c.auth.signingKeyPublishDelaySeconds).toBe(330);
    const now = loadConfig({
      DATA_DIR: dataDir(),
      ENCRYPTION_KEYS: KEYS,
      SIGNING_KEY_PUBLISH_DELAY_SECONDS: '0',
    });
    expect(now.auth.signingKeyPublishDelaySeconds).toBe(0);
    for (const bad of ['-1', 'soon', '86401']) {
      expect(() =>
        loadConfig({
          DATA_DIR: dataDir(),
          ENCRYPTION_KEYS: KEYS,
          SIGNING_KEY_PUBLISH_DELAY_SECONDS: bad,
        }),
      ).toThrow(/SIGNING_KEY_PUBLISH_DELAY_SECONDS/);
    }
  });

  it('in development generates missing secrets once into DATA_DIR and reuses them', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.generatedSecrets).toEqual(['ENCRYPTION_KEYS', 'SECRET_KEY']);
    const file = join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.generatedSecrets).toEqual([]);
    expect(second.encryption.keys[0]!.key.equals(first.encryption.keys[0]!.key)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).ENCRYPTION_KEYS).toMatch(/^k1:/);
  });

  it('listens on loopback unless HOST is set, except in production', () => {
    const base = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS };
    expect(loadConfig(base).host).toBe('127.0.0.1');
    expect(loadConfig({ ...base, NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig({ ...base, HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...base, HOST: '::1' }).host).toBe('::1');
    const prod = {
      ...base,
      NODE_ENV: 'production',
      SECRET_KEY: 'x'.repeat(32),
      MAIL_OUTBOX_ALLOWED: 'true',
    };
    expect(loadConfig(prod).host).toBe('0.0.0.0');
    expect(loadConfig({ ...prod, HOST: '10.0.0.5' }).host).toBe('10.0.0.5');
  });

  it('parses rotation: several keys, an explicit active id', () => {
    const two = `${KEYS},k2:${Buffer.alloc(32, 2).toString('base64')}`;
    expect(loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: two }).encryption.activeKeyId).toBe(
      'k2',
    );
    const c = loadConfig({
      DATA_DIR: dataDir(),
      ENCRYPTION_KEYS: two,
      ENCRYPTION_ACTIVE_KEY_ID: 'k1',
    });
    expect(c.encryption.activeKeyId).toBe('k1');
    expect(c.encryption.keys).toHaveLength(2);
  });
});

describe('config problems', () => {
  const problemsOf = (env: Record<string, string>): readonly string[] => {
    try {
      loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS, ...env });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    return [];
  };

  it('lists every malformed variable and every broken rule between settings in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      SIGNUP_ENABLED: 'maybe',
      RATE_LIMIT_LOGIN_IP: 'ten',
      RATE_LIMIT_REFRESH_IP: '0/60',
      PASSWORD_MIN_LENGTH: '100',
      PASSWORD_MAX_LENGTH: '64',
      ENCRYPTION_ACTIVE_KEY_ID: 'k9',
      ADMIN_EMAIL: 'root@example.test',
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_TIMEOUT_MS: '30000',
      DISPATCHER_LEASE_SECONDS: '59',
      RATE_LIMIT_LOGIN_ACCOUNT: '9/900',
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_LOCK_TIMEOUT_MS: '2000',
    });
    const expected = [
      /^PORT /,
      /^LOG_LEVEL /,
      /^SIGNUP_ENABLED /,
      /^RATE_LIMIT_LOGIN_IP /,
      /^RATE_LIMIT_REFRESH_IP /,
      /^PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH/,
      /^ENCRYPTION_ACTIVE_KEY_ID /,
      /^ADMIN_EMAIL is set but ADMIN_PASSWORD is not/,
      /^TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN /,
      /^DATABASE_LOCK_TIMEOUT_MS must not exceed DATABASE_STATEMENT_TIMEOUT_MS/,
      /^DISPATCHER_LEASE_SECONDS /,
      /^RATE_LIMIT_LOGIN_ACCOUNT and RATE_LIMIT_LOGIN_ACCOUNT_IP: the account limit/,
    ];
    expect(problems).toHaveLength(expected.length);
    for (const re of expected)
      expect(
        problems.filter((p) => re.test(p)),
        String(re),
      ).toHaveLength(1);
  });

  it('LiveKit: all three of URL, key and secret or none; the error names what is missing', () => {
    const base = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS };
    const none = loadConfig(base);
    expect(none.livekit).toEqual({ server: undefined, tokenTtlSeconds: 3600 });
    const full = loadConfig({
      ...base,
      LIVEKIT_URL: 'wss://lk.example.com/',
      LIVEKIT_API_KEY: 'APIabc',
      LIVEKIT_API_SECRET: 'short-is-fine-outside-production',
      LIVEKIT_TOKEN_TTL_SECONDS: '600',
    });
    expect(full.livekit).toEqual({
      server: {
        url: 'wss://lk.example.com',
        apiKey: 'APIabc',
        apiSecret: 'short-is-fine-outside-production',
      },
      tokenTtlSeconds: 600,
    });
    expect(() => loadConfig({ ...base, LIVEKIT_URL: 'wss://lk.example.com' })).toThrow(
      /LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set together \(missing: LIVEKIT_API_KEY, LIVEKIT_API_SECRET\)/,
    );
    expect(() => loadConfig({ ...base, LIVEKIT_API_SECRET: 'x' })).toThrow(
      /missing: LIVEKIT_URL, LIVEKIT_API_KEY/,
    );
    for (const [name, value] of [
      ['LIVEKIT_URL', 'ftp://lk.example.com'],
      ['LIVEKIT_API_KEY', 'has spaces'],
      ['LIVEKIT_TOKEN_TTL_SECONDS', '10'],
      ['LIVEKIT_TOKEN_TTL_SECONDS', 'soon'],
    ] as const) {
      const env = {
        ...base,
        LIVEKIT_URL: 'wss://lk.example.com',
        LIVEKIT_API_KEY: 'APIabc',
        LIVEKIT_API_SECRET: 'secret',
        [name]: value,
      };
      expect(() => loadConfig(env), `${name}=${value}`).toThrow(new RegExp(name));
    }
  });

  it('LiveKit: production refuses an API secret shorter than 32 characters, never echoing it', () => {
    const env = {
      NODE_ENV: 'production',
      DATA_DIR: dataDir(),
      ENCRYPTION_KEYS: KEYS,
      SECRET_KEY: 'x'.repeat(32),
      MAIL_OUTBOX_ALLOWED: 'true',
      LIVEKIT_URL: 'wss://lk.example.com',
      LIVEKIT_API_KEY: 'APIabc',
    };
    const secret = 'a-31-character-secret-012345678';
    expect(secret).toHaveLength(31);
    let err: unknown;
    try {
      loadConfig({ ...env, LIVEKIT_API_SECRET: secret });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([
      'LIVEKIT_API_SECRET must be at least 32 characters when NODE_ENV=production',
    ]);
    expect(String((err as Error).message)).not.toContain(secret);
    expect(loadConfig({ ...env, LIVEKIT_API_SECRET: `${secret}9` }).livekit.server).toBeDefined();
  });

  it('in production names the missing secrets and the missing SMTP_URL at once', () => {
    let err: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() });
    } catch (e) {
      err = e;
    }
    const { problems } = err as ConfigError;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/ENCRYPTION_KEYS, SECRET_KEY/);
    expect(problems[1]).toMatch(/SMTP_URL/);
  });

  it('prints one line a problem, with no stack trace', () => {
    const one = new ConfigError(['PORT must be a whole number (got "x")']);
    expect(describeConfigError(one)).toBe(
      'Switchboard cannot start: PORT must be a whole number (got "x")',
    );
    const two = new ConfigError(['PORT is bad', 'LOG_LEVEL is bad']);
    expect(two.message).toBe('PORT is bad\nLOG_LEVEL is bad');
    expect(describeConfigError(two)).toBe(
      'Switchboard cannot start: 2 configuration problems:\n  - PORT is bad\n  - LOG_LEVEL is bad',
    );
  });

  it('generates no secrets into DATA_DIR for a configuration that does not start', () => {
    const dir = dataDir();
    expect(() => loadConfig({ DATA_DIR: dir, PORT: 'eighty' })).toThrow(ConfigError);
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
  });

  it('refuses PORT=0 unless PUBLIC_URL says where the server is reached', () => {
    const base = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS };
    // The default PUBLIC_URL would be http://localhost:0: every browser write a cross-site 403.
    expect(() => loadConfig({ ...base, PORT: '0' })).toThrow(
      new ConfigError([
        'PORT=0 (a port the system picks) needs PUBLIC_URL: the default PUBLIC_URL is http://localhost:$PORT; set PORT to the port to listen on, or PUBLIC_URL to the URL users reach',
      ]),
    );
    const behindProxy = loadConfig({ ...base, PORT: '0', PUBLIC_URL: 'https://sb.example.com' });
    expect(behindProxy.port).toBe(0);
    expect(behindProxy.publicUrl).toBe('https://sb.example.com');
    expect(loadConfig({ ...base, PORT: '8123' }).publicUrl).toBe('http://localhost:8123');
  });

  it('names an unusable DATA_DIR with the reason, in the list of every problem', () => {
    // A regular file where the folder should be, and a folder under that file.
    const file = join(dataDir(), 'not-a-folder');
    writeFileSync(file, '');
    for (const [dir, code] of [
      [file, 'EEXIST'],
      [join(file, 'data'), 'ENOTDIR'],
    ] as const) {
      // Generated secrets (written at the end of loadConfig) were a raw EEXIST with a stack trace.
      let err: unknown;
      try {
        loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'loud' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^LOG_LEVEL /);
      expect(problems[1]).toBe(
        `DATA_DIR ${dir} cannot be created or written (${code}); it holds device audio (conversations/), the embedded database (pgdata/), the mail outbox (outbox/), generated secrets (secrets.json)`,
      );
    }
    // With every secret set, SMTP and PostgreSQL, device audio still lands there: refused at start
    // rather than when the first stream opens.
    expect(() =>
      loadConfig({
        DATA_DIR: file,
        ENCRYPTION_KEYS: KEYS,
        SECRET_KEY: 'x'.repeat(32),
        DATABASE_URL: 'postgres://u@127.0.0.1/test',
        SMTP_URL: 'smtp://mail.test:587',
      }),
    ).toThrow(
      new ConfigError([
        `DATA_DIR ${file} cannot be created or written (EEXIST); it holds device audio (conversations/)`,
      ]),
    );
  });

  it('creates a missing DATA_DIR and leaves no probe behind', () => {
    const dir = join(dataDir(), 'new', 'data');
    loadConfig({ DATA_DIR: dir, ENCRYPTION_KEYS: KEYS, SECRET_KEY: 'x'.repeat(32) });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the variables the code reads', () => {
  const root = join(import.meta.dirname, '..');
  const sorted = (names: Iterable<string>) => [...names].sort();

  it('are exactly ENV_VARIABLES, each listed once', () => {
    const read = new Set<string>();
    const env = new Proxy(
      { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS } as Record<string, string>,
      {
        get(target, name) {
          if (typeof name === 'string') read.add(name);
          return typeof name === 'string' ? target[name] : undefined;
        },
      },
    );
    loadConfig(env);
    expect(new Set(ENV_VARIABLES).size).toBe(ENV_VARIABLES.length);
    expect(sorted(read)).toEqual(sorted(ENV_VARIABLES));
  });

  it('are each in .env.example once, as NAME=value or # NAME=value', () => {
    const text = readFileSync(join(root, '.env.example'), 'utf8');
    const names = [...text.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(sorted(names)).toEqual(sorted(ENV_VARIABLES));
  });

  it('show their true defaults in .env.example (lines under a "Default:" note are examples)', () => {
    const defaults: Record<string, string> = {};
    let note = '';
    for (const line of readFileSync(join(root, '.env.example'), 'utf8').split('\n')) {
      const m = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!m) {
        note = line.startsWith('#') ? `${note}${line}\n` : '';
        continue;
      }
      if (m[1] && !note.includes('Default:')) defaults[m[2]!] = m[3]!;
      note = '';
    }
    expect(Object.keys(defaults).length).toBeGreaterThan(40);
    // DATA_DIR is a relative path: its default resolves against the working directory.
    const base = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS, SECRET_KEY: 'x'.repeat(32) };
    expect(loadConfig({ ...defaults, ...base })).toEqual(loadConfig(base));
  });

  it('are each documented in a configuration table of README.md (first column: Variable)', () => {
    const text = readFileSync(join(root, 'README.md'), 'utf8');
    const documented = new Set<string>();
    let inVariableTable = false;
    for (const line of text.split('\n')) {
      // Only the tables whose header starts with "Variable" count, not a mention elsewhere.
      if (!line.startsWith('|')) inVariableTable = false;
      else if (/^\|\s*Variable\s*\|/.test(line)) inVariableTable = true;
      if (!inVariableTable) continue;
      const first = /^\|([^|]*)\|/.exec(line)?.[1];
      const names = [...(first ?? '').matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
      if (names.length > 0 && names.every((n) => /^[A-Z][A-Z0-9_]*$/.test(n))) {
        for (const n of names) documented.add(n);
      }
    }
    expect(sorted(documented)).toEqual(sorted(ENV_VARIABLES));
  });
});
