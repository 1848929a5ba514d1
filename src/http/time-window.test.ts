// Every log list's time window has one rule (checkWindow, src/http/pagination.ts): a window that
// ends before it starts, or where it starts, holds nothing and is named as the caller's mistake
// (400 validation_failed on its start), never answered as an empty page that reads as "nothing
// happened". A real window still lists.
import { beforeAll, describe, expect, it } from 'vitest';
import { appForFile, as, LIVEKIT_ENV } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';

const t = appForFile({ headerAuth: true, env: { ...LIVEKIT_ENV } });
let headers: Record<string, string>;
beforeAll(async () => {
  const a = await createTeam(t.database);
  headers = as(a.owner, a.org, 'owner');
});

const EARLY = '2026-01-01T00:00:00.000Z';
const LATE = '2026-01-02T00:00:00.000Z';

/** Each log list, with its query's names for the window's start and end. */
const LISTS: [url: string, start: string, end: string][] = [
  ['/api/calls', 'since', 'until'],
  ['/api/messages', 'since', 'until'],
  ['/api/conversations', 'since', 'until'],
  ['/api/scheduled-calls', 'since', 'until'],
  ['/api/voice-sessions', 'since', 'until'],
  ['/api/audit-logs', 'from', 'to'],
];

const list = (url: string, start: string, end: string, from: string, to: string) =>
  t.app.inject({
    url: `${url}?${start}=${encodeURIComponent(from)}&${end}=${encodeURIComponent(to)}`,
    headers,
  });

describe('a log list’s time window', () => {
  it.each(LISTS)(
    '%s: a window ending before it starts is a 400 on its start',
    async (url, s, e) => {
      const res = await list(url, s, e, LATE, EARLY);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: s, message: `must be before ${e}` }],
      });
    },
  );

  it.each(LISTS)('%s: an empty window (start = end) is a 400 too', async (url, s, e) => {
    const res = await list(url, s, e, EARLY, EARLY);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });

  it.each(LISTS)('%s: a window that starts before it ends lists', async (url, s, e) => {
    const res = await list(url, s, e, EARLY, LATE);
    expect(res.statusCode, res.body).toBe(200);
    expect(Array.isArray(res.json().items)).toBe(true);
  });
});
