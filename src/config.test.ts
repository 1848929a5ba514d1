import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

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
    ['SIGNUP_ENABLED', 'maybe', /SIGNUP_ENABLED/],
    ['SMTP_URL', 'http://mail', /SMTP_URL/],
    ['RATE_LIMIT_LOGIN_IP', 'ten', /RATE_LIMIT_LOGIN_IP/],
    ['PASSWORD_MIN_LENGTH', '4', /PASSWORD_MIN_LENGTH/],
    ['SECRET_KEY', 'too-short', /SECRET_KEY/],
  ])('a malformed %s=%s is a startup error naming it', (name, value, re) => {
    const env = { DATA_DIR: dataDir(), ENCRYPTION_KEYS: KEYS, [name]: value };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(re);
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
