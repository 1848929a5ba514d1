// Validation answers a person can act on: one entry per field, in words, enum values listed,
// unknown and missing fields reported together; and the all-errors pass stays bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES } from '../access/permissions.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { FULL_REPORT_MAX_TEXT, FULL_REPORT_MAX_VALUES, isSmallValue } from './validation.ts';
import { MAX_FIELD_ERRORS } from './validation-errors.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
});
afterAll(() => t.close());

const who = {
  'x-test-user': '0190b7a0-0000-7000-8000-000000000001',
  'x-test-org': '0190b7a0-0000-7000-8000-000000000002',
  'x-test-role': 'owner',
};

const send = (method: 'POST' | 'PATCH', url: string, payload: unknown) =>
  t.app.inject({ method, url, headers: who, payload: payload as object });

describe('validation_failed answers', () => {
  it('an unknown API-key scope is one error that lists the allowed scopes', async () => {
    const res = await send('POST', '/api/api-keys', {
      name: 'ci',
      scopes: ['prompts:read', 'nope'],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors).toEqual([
      { field: 'scopes.1', message: `must be one of: ${API_KEY_SCOPES.join(', ')}` },
    ]);
  });

  it('PATCH /api/users/me with display_name names the unknown field and the missing one at once', async () => {
    const res = await send('PATCH', '/api/users/me', { display_name: 'Ada Lovelace' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual(
      expect.arrayContaining([
        { field: 'full_name', message: 'is required' },
        { field: 'display_name', message: 'is not an allowed field' },
      ]),
    );
    expect(res.json().errors).toHaveLength(2);
  });

  it('a nullable field of the wrong type says what it may be, once', async () => {
    const res = await send('PATCH', '/api/users/me', { full_name: 42 });
    expect(res.json().errors).toEqual([
      { field: 'full_name', message: 'must be a string or null' },
    ]);
  });

  it('a value of the right type but the wrong form gets the rule it broke, not "must be null"', async () => {
    const res = await send('PATCH', '/api/users/me', { full_name: 'x'.repeat(201) });
    expect(res.json().errors).toEqual([
      { field: 'full_name', message: 'must be at most 200 characters' },
    ]);
  });

  it('several bad fields: one entry each, in words (blank, format, missing)', async () => {
    const res = await send('POST', '/api/api-keys', { name: '   ', expires_at: 'tomorrow' });
    expect(res.json().errors).toEqual(
      expect.arrayContaining([
        { field: 'name', message: 'must not be blank' },
        { field: 'scopes', message: 'is required' },
        { field: 'expires_at', message: expect.stringMatching(/^must be a date and time/) },
      ]),
    );
    expect(res.json().errors).toHaveLength(3);
  });

  it('a leap second is a 400 naming the field, in a body and in a query string', async () => {
    // Valid RFC 3339, but no JavaScript Date can hold 23:59:60: it once reached the database.
    const body = await send('POST', '/api/api-keys', {
      name: 'ci',
      scopes: ['prompts:read'],
      expires_at: '2030-12-31T23:59:60Z',
    });
    expect(body.statusCode, body.body).toBe(400);
    expect(body.json().errors).toEqual([
      { field: 'expires_at', message: expect.stringMatching(/^must be a date and time/) },
    ]);
    const query = await t.app.inject({
      url: '/api/voice-sessions?until=2016-12-31T23:59:60Z',
      headers: who,
    });
    expect(query.statusCode, query.body).toBe(400);
    expect(query.json().errors).toEqual([
      { field: 'until', message: expect.stringMatching(/^must be a date and time/) },
    ]);
  });

  it('a date-time past the end of year 9999 in UTC is a 400 (its answer would not be RFC 3339)', async () => {
    const late = await send('POST', '/api/api-keys', {
      name: 'far future',
      scopes: ['prompts:read'],
      expires_at: '9999-12-31T23:59:59-12:00',
    });
    expect(late.statusCode, late.body).toBe(400);
    expect(late.json().errors).toEqual([
      { field: 'expires_at', message: expect.stringMatching(/^must be a date and time/) },
    ]);
  });

  it('a number in a query string is decimal digits: other spellings Number() reads are a 400', async () => {
    for (const limit of ['0x10', '0b11', '0o7', '1e1', '5.0', '%205', '5%20', 'Infinity', '1_0']) {
      const res = await t.app.inject({ url: `/api/prompts?limit=${limit}`, headers: who });
      expect(res.statusCode, limit).toBe(400);
      expect(res.json().errors, limit).toEqual([
        { field: 'limit', message: 'must be a whole number' },
      ]);
    }
    for (const limit of ['16', '05']) {
      const res = await t.app.inject({ url: `/api/prompts?limit=${limit}`, headers: who });
      expect(res.statusCode, limit).toBe(200);
    }
  });

  it('a date or date-time in year 0000 is a 400 naming the field (PostgreSQL has no year 0)', async () => {
    for (const url of [
      '/api/analytics/calls-by-date?from=0000-12-31&to=0001-01-01',
      '/api/voice-sessions?until=0000-12-31T00:00:00Z',
    ]) {
      const res = await t.app.inject({ url, headers: who });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors[0].field).toMatch(/^(from|until)$/);
    }
    // A valid `to` whose default 30-day window would start in year 0000.
    const early = await t.app.inject({
      url: '/api/analytics/calls-by-date?to=0001-01-15',
      headers: who,
    });
    expect(early.statusCode, early.body).toBe(400);
    expect(early.json().errors).toEqual([{ field: 'from', message: expect.any(String) }]);
  });

  it('an id in URN form (urn:uuid:…) is a 400, not a database error', async () => {
    const id = '0190b7a0-0000-7000-8000-000000000009';
    const res = await t.app.inject({
      url: `/api/audit-logs?actor=urn:uuid:${id}`,
      headers: who,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'actor', message: expect.any(String) }]);
  });

  it('a pattern with a description explains itself', async () => {
    const res = await send('POST', '/api/agents', {
      name: 'Front desk',
      direction: 'incoming',
      phone_id: '0190b7a0-0000-7000-8000-000000000003',
      voice: 'not a voice!',
    });
    expect(res.json().errors).toEqual([
      { field: 'voice', message: 'is not in the expected format (TTS voice, e.g. Polly.Joanna)' },
    ]);
  });

  it('an enum in the query string lists its values too', async () => {
    const res = await t.app.inject({ url: '/api/agents?direction=sideways', headers: who });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      { field: 'direction', message: 'must be one of: incoming, outgoing' },
    ]);
  });
});

describe('the all-errors pass is bounded', () => {
  it('a large invalid body gets the first error only, quickly', async () => {
    const scopes = Array.from({ length: 20_000 }, (_, i) => `bogus-${i}`);
    const started = Date.now();
    const res = await send('POST', '/api/api-keys', { name: 'ci', scopes, extra: 1 });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('counts values without walking all of a large one', () => {
    expect(isSmallValue({ a: [1, 2, { b: 'c' }] })).toBe(true);
    expect(isSmallValue(Array.from({ length: FULL_REPORT_MAX_VALUES + 1 }, () => 0))).toBe(false);
    const deep: unknown[] = [];
    let at = deep;
    for (let i = 0; i < 5000; i++) {
      const next: unknown[] = [];
      at.push(next);
      at = next;
    }
    expect(isSmallValue(deep)).toBe(false);
  });

  it('counts text too: a value of a few long strings is not small (no pattern runs over it)', () => {
    expect(isSmallValue({ name: 'x'.repeat(FULL_REPORT_MAX_TEXT) })).toBe(true);
    expect(isSmallValue({ name: 'x'.repeat(FULL_REPORT_MAX_TEXT + 1) })).toBe(false);
    expect(isSmallValue(['x'.repeat(40_000), 'y'.repeat(40_000)])).toBe(false);
  });

  it('a long name ending in a direction control is refused at once (its pattern runs in one pass)', async () => {
    // 500,000 characters: the earlier pattern tried every split point (quadratic: minutes of a
    // blocked event loop); this one, and the text bound above, answer at once.
    const res = await send('POST', '/api/prompts', {
      name: `${'a'.repeat(500_000)}\u202e`,
      content: 'x',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      { field: 'name', message: 'must be at most 200 characters' },
    ]);
  });

  it('the list of field errors is capped', async () => {
    const body = Object.fromEntries(
      Array.from({ length: MAX_FIELD_ERRORS + 20 }, (_, i) => [`unknown_${i}`, i]),
    );
    const res = await send('PATCH', '/api/users/me', body);
    expect(res.json().errors).toHaveLength(MAX_FIELD_ERRORS);
  });
});
