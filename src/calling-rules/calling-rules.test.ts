// Calling windows and the do-not-call list over HTTP, and what the dispatcher does with them
// (against the fake Twilio REST server, with an injected clock: no sleeps): the window's
// validation and audit; scheduling a listed number (409); adding a number cancels the pending
// calls to it; the CSV import (all or nothing, line numbers); dispatch_at; and at claim time a
// call outside the window waits (not failed, not an attempt) while a listed number is refused.
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem, withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import {
  claimDueCalls,
  markDeferred,
  markWindowDeferred,
} from '../telephony/dispatch.repository.ts';
import { createDispatcher } from '../telephony/dispatcher.ts';
import { as, type TestApp } from '../test/app.ts';
import { createTeam, createVerifiedPhone } from '../test/factories.ts';
import type { FakeTwilio } from '../test/fake-twilio.ts';
import { auditOf } from '../test/org-helpers.ts';
import {
  appOnFakeTwilio,
  create,
  makeScheduledCallDue,
  scheduledCallRow,
  uniqueNumber,
} from '../test/twilio.ts';
import { dispatchGate } from './rules.ts';

let fake: FakeTwilio;
let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let agent: { id: string };

const owner = () => as(a.owner, a.org, 'owner');
const manager = () => as(a.manager, a.org, 'manager');
const WINDOW = '/api/orgs/current/calling-window';
const DNC = '/api/orgs/current/do-not-call';

beforeAll(async () => {
  ({ t, fake } = await appOnFakeTwilio({ DISPATCHER_MAX_ATTEMPTS: '3' }));
  a = await createTeam(t.database);
  const phone = await createVerifiedPhone(t.app, t.database, owner(), { number: uniqueNumber() });
  agent = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
    name: 'Caller',
    direction: 'outgoing',
    phone_id: phone.id,
    greeting: 'Hello',
    media_stream_url: 'wss://worker.example.test/media',
  });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

function schedule(to: string, extra: Record<string, unknown> = {}, headers = owner()) {
  return t.app.inject({
    method: 'POST',
    url: '/api/scheduled-calls',
    headers,
    payload: { agent_id: agent.id, to, scheduled_at: inAnHour(), ...extra },
  });
}

function putWindow(body: Record<string, unknown>, headers = owner()) {
  return t.app.inject({ method: 'PUT', url: WINDOW, headers, payload: body });
}

function addNumber(number: string, reason?: string, headers = manager()) {
  return t.app.inject({ method: 'POST', url: DNC, headers, payload: { number, reason } });
}

function importCsv(body: string, headers = manager(), type = 'text/csv') {
  return t.app.inject({
    method: 'POST',
    url: `${DNC}/import`,
    headers: { ...headers, 'content-type': type },
    payload: body,
  });
}

const clearWindow = () => t.app.inject({ method: 'DELETE', url: WINDOW, headers: owner() });

const EVERY_DAY = [1, 2, 3, 4, 5, 6, 7];
const clock = (h: number) => `${String(h).padStart(2, '0')}:00`;
/** A UTC window of every day that is closed now: it opens in an hour at the soonest. */
function closedNow() {
  const start = (new Date().getUTCHours() + 2) % 24;
  return { time_zone: 'UTC', days: EVERY_DAY, start: clock(start), end: clock(start + 1) };
}
/** A UTC window of every day open now (for the rest of this hour at least); shut in Tokyo. */
function openNow() {
  const h = new Date().getUTCHours();
  return {
    time_zone: 'UTC',
    days: EVERY_DAY,
    start: clock(Math.max(0, h - 1)),
    end: clock(Math.min(24, h + 2)),
  };
}

describe('the calling window', () => {
  it('absent at first; set, read, replaced and removed, each change audited', async () => {
    expect((await t.app.inject({ url: WINDOW, headers: owner() })).json()).toEqual({
      window: null,
    });
    const set = await putWindow({
      time_zone: 'america/new_york',
      days: [5, 1, 2, 3, 4, 1],
      start: '09:00',
      end: '20:00',
    });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({
      time_zone: 'America/New_York',
      days: [1, 2, 3, 4, 5],
      start: '09:00',
      end: '20:00',
      updated_by: a.owner.id,
    });
    const read = await t.app.inject({ url: WINDOW, headers: as(a.member, a.org, 'member') });
    expect(read.json().window).toMatchObject({ time_zone: 'America/New_York', end: '20:00' });
    expect(
      (await putWindow({ time_zone: 'UTC', days: [7], start: '00:00', end: '24:00' })).json(),
    ).toMatchObject({ time_zone: 'UTC', days: [7], end: '24:00' });
    expect((await clearWindow()).statusCode).toBe(204);
    expect((await clearWindow()).statusCode).toBe(404);
    expect((await t.app.inject({ url: WINDOW, headers: owner() })).json().window).toBeNull();
    const actions = (await auditOf(t.database, a.org.id)).map((e) => e.action);
    expect(actions.filter((x) => x === 'calling_window.set')).toHaveLength(2);
    expect(actions).toContain('calling_window.clear');
  });

  it('refuses an unknown zone, bad days and hours with a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ time_zone: 'Mars/Olympus_Mons' }, 'time_zone'],
      [{ time_zone: '+02:00' }, 'time_zone'],
      [{ start: '18:00', end: '09:00' }, 'end'],
      [{ start: '24:00', end: '24:00' }, 'start'],
    ];
    for (const [over, field] of cases) {
      const res = await putWindow({
        time_zone: 'Europe/Berlin',
        days: [1],
        start: '09:00',
        end: '17:00',
        ...over,
      });
      expect(res.statusCode, JSON.stringify(over)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed' });
      expect(res.json().errors[0].field).toBe(field);
    }
    for (const bad of [
      { days: [] },
      { days: [0] },
      { days: [8] },
      { start: '9:00' },
      { extra: 1 },
      { time_zone: '' },
    ]) {
      const res = await putWindow({
        time_zone: 'Europe/Berlin',
        days: [1],
        start: '09:00',
        end: '17:00',
        ...bad,
      });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await t.app.inject({ url: WINDOW, headers: owner() })).json().window).toBeNull();
  });

  it("scheduled calls say when they will go: dispatch_at in the recipient's zone", async () => {
    // A window of Sundays 10:00-11:00: a call an hour from now goes at the next such opening.
    await putWindow({ time_zone: 'Asia/Tokyo', days: [7], start: '10:00', end: '11:00' });
    const res = await schedule(uniqueNumber());
    expect(res.statusCode).toBe(201);
    const s = res.json();
    expect(s.recipient_time_zone).toBeNull();
    const at = new Date(s.dispatch_at);
    expect(at.getTime()).toBeGreaterThanOrEqual(new Date(s.scheduled_at).getTime());
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Tokyo',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(at);
    expect(local).toMatch(/^Sun,? 10:00$/);

    const berlin = await schedule(uniqueNumber(), { recipient_time_zone: 'Europe/Berlin' });
    expect(berlin.statusCode).toBe(201);
    expect(berlin.json().recipient_time_zone).toBe('Europe/Berlin');
    const there = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(berlin.json().dispatch_at));
    expect(there).toMatch(/^Sun,? 10:00$/);

    const listed = await t.app.inject({ url: '/api/scheduled-calls', headers: owner() });
    const mine = listed.json().items.find((x: { id: string }) => x.id === s.id);
    expect(mine.dispatch_at).toBe(s.dispatch_at);

    // Without a window a pending call goes when it is due.
    await clearWindow();
    const get = await t.app.inject({ url: `/api/scheduled-calls/${s.id}`, headers: owner() });
    expect(get.json().dispatch_at).toBe(s.scheduled_at);
    // A cancelled call goes never.
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: owner(),
    });
    expect(cancel.json()).toMatchObject({ status: 'cancelled', dispatch_at: null });
  });

  it('refuses an unknown recipient zone with a 400 naming the field', async () => {
    const res = await schedule(uniqueNumber(), { recipient_time_zone: 'Nowhere/Special' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe('recipient_time_zone');
  });
});

describe('the do-not-call list', () => {
  it('a listed number cannot be scheduled: 409 number_on_do_not_call_list', async () => {
    const n = uniqueNumber();
    const added = await addNumber(n, 'asked us not to call');
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({
      number: n,
      reason: 'asked us not to call',
      added_by: a.manager.id,
      calls_cancelled: 0,
    });
    const res = await schedule(n, {}, as(a.admin, a.org, 'admin'));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'number_on_do_not_call_list' });
    expect((await addNumber(n)).json()).toMatchObject({ code: 'do_not_call_number_exists' });
  });

  it("adding a number cancels everyone's pending calls to it, each audited", async () => {
    const n = uniqueNumber();
    const mine = (await schedule(n)).json();
    const theirs = (await schedule(n, {}, as(a.admin, a.org, 'admin'))).json();
    const other = (await schedule(uniqueNumber())).json();
    const added = await addNumber(n, 'opt-out by SMS');
    expect(added.json().calls_cancelled).toBe(2);
    for (const id of [mine.id, theirs.id]) {
      expect(await scheduledCallRow(t.database, id)).toMatchObject({
        status: 'cancelled',
        last_error: 'The number was added to the do-not-call list',
      });
    }
    expect((await scheduledCallRow(t.database, other.id)).status).toBe('pending');
    const audit = await auditOf(t.database, a.org.id);
    const cancels = audit.filter(
      (e) => e.action === 'scheduled_call.cancel' && [mine.id, theirs.id].includes(e.target_id!),
    );
    expect(cancels).toHaveLength(2);
    expect(cancels[0]).toMatchObject({ actor_user_id: a.manager.id, outcome: 'success' });
    expect(
      audit.find((e) => e.action === 'do_not_call.add' && e.target_id === added.json().id),
    ).toMatchObject({ actor_user_id: a.manager.id });
  });

  it('lists newest first with a cursor, filters by number, deletes (audited)', async () => {
    const numbers = [uniqueNumber(), uniqueNumber(), uniqueNumber()];
    const ids: string[] = [];
    for (const n of numbers) ids.push((await addNumber(n)).json().id);
    const first = await t.app.inject({ url: `${DNC}?limit=2`, headers: manager() });
    expect(first.json().items.map((x: { id: string }) => x.id)).toEqual([ids[2], ids[1]]);
    const next = await t.app.inject({
      url: `${DNC}?limit=2&cursor=${first.json().next_cursor}`,
      headers: manager(),
    });
    expect(next.json().items[0].id).toBe(ids[0]);
    const one = await t.app.inject({
      url: `${DNC}?number=${encodeURIComponent(numbers[1]!)}`,
      headers: as(a.member, a.org, 'member'),
    });
    expect(one.json().items.map((x: { number: string }) => x.number)).toEqual([numbers[1]]);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `${DNC}/${ids[1]}`,
      headers: manager(),
    });
    expect(del.statusCode).toBe(204);
    expect(
      (await t.app.inject({ method: 'DELETE', url: `${DNC}/${ids[1]}`, headers: manager() }))
        .statusCode,
    ).toBe(404);
    // Callable again.
    expect((await schedule(numbers[1]!)).statusCode).toBe(201);
    const audit = await auditOf(t.database, a.org.id);
    expect(audit.find((e) => e.action === 'do_not_call.remove')).toMatchObject({
      target_id: ids[1],
    });
  });

  it('refuses bad numbers and reasons with a 400', async () => {
    for (const body of [
      { number: '4155550100' },
      { number: '+0123456789' },
      { number: '+1415555010012345' },
      { number: uniqueNumber(), reason: 'x'.repeat(501) },
      { number: uniqueNumber(), reason: 'nul\u0000byte' },
      { number: uniqueNumber(), extra: true },
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: DNC,
        headers: manager(),
        payload: body,
      });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
  });
  it('counts a reason in characters (code points), as the OpenAPI maxLength does, by hand and in a file', async () => {
    // 😀 is one character and two UTF-16 units: 300 of them are within the 500 characters.
    const emoji = '\u{1F600}';
    const byHand = await addNumber(uniqueNumber(), emoji.repeat(300));
    expect(byHand.statusCode, byHand.body).toBe(201);
    expect(byHand.json().reason).toBe(emoji.repeat(300));
    expect((await addNumber(uniqueNumber(), emoji.repeat(500))).statusCode).toBe(201);
    expect((await addNumber(uniqueNumber(), emoji.repeat(501))).statusCode).toBe(400);
    const file = await importCsv(`${uniqueNumber()},${emoji.repeat(500)}\n`);
    expect(file.statusCode, file.body).toBe(200);
    expect(file.json()).toMatchObject({ added: 1 });
    const tooLong = await importCsv(`${uniqueNumber()},${emoji.repeat(501)}\n`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().errors).toEqual([
      { field: 'line 1', message: 'the reason is longer than 500 characters' },
    ]);
  });
});

describe('changing a pending call (PATCH)', () => {
  const patch = (id: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/api/scheduled-calls/${id}`, headers: owner(), payload });

  it('to a listed number: 409; the zone and time change dispatch_at; only while pending', async () => {
    const listed = uniqueNumber();
    await addNumber(listed, 'no');
    const s = (await schedule(uniqueNumber())).json();
    const refused = await patch(s.id, { to: listed });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'number_on_do_not_call_list' });
    expect((await scheduledCallRow(t.database, s.id)).to_number).toBe(s.to);

    await putWindow({ time_zone: 'America/New_York', days: [3], start: '09:00', end: '10:00' });
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const moved = await patch(s.id, { recipient_time_zone: 'Asia/Tokyo', scheduled_at: later });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ recipient_time_zone: 'Asia/Tokyo', scheduled_at: later });
    const tokyo = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Tokyo',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(moved.json().dispatch_at));
    expect(tokyo).toMatch(/^Wed,? 09:00$/);
    expect((await scheduledCallRow(t.database, s.id)).next_attempt_at.toISOString()).toBe(later);
    const back = await patch(s.id, { recipient_time_zone: null });
    expect(back.json().recipient_time_zone).toBeNull();
    await clearWindow();

    expect((await patch(s.id, { recipient_time_zone: 'Atlantis/Capital' })).statusCode).toBe(400);
    expect((await patch(s.id, {})).statusCode).toBe(400);
    expect((await patch(s.id, { agent_id: agent.id })).statusCode).toBe(400);
    await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: owner(),
    });
    const late = await patch(s.id, { to: uniqueNumber() });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: 'scheduled_call_not_pending' });
  });
});

describe('the CSV import', () => {
  it('imports numbers with reasons, a header, quotes and blank lines; cancels pending calls', async () => {
    const [n1, n2, n3] = [uniqueNumber(), uniqueNumber(), uniqueNumber()];
    await addNumber(n3, 'before');
    const pending = (await schedule(n2)).json();
    const csv = `\uFEFFnumber,reason\r\n${n1},"asked, politely"\r\n\r\n${n2}\r\n${n1},again\r\n"${n3}","said ""stop"""\r\n`;
    const res = await importCsv(csv);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      lines: 4,
      added: 2,
      already_listed: 1,
      duplicates_in_file: 1,
      calls_cancelled: 1,
    });
    expect((await scheduledCallRow(t.database, pending.id)).status).toBe('cancelled');
    const listed = await t.app.inject({
      url: `${DNC}?number=${encodeURIComponent(n1)}`,
      headers: manager(),
    });
    expect(listed.json().items[0]).toMatchObject({
      reason: 'asked, politely',
      added_by: a.manager.id,
    });
    const audit = await auditOf(t.database, a.org.id);
    expect(audit.filter((e) => e.action === 'do_not_call.import').at(-1)?.metadata).toMatchObject({
      added: 2,
      calls_cancelled: 1,
    });
  });

  it('the header is the first line that is not blank; a header further down is a bad line', async () => {
    const n = uniqueNumber();
    const res = await importCsv(`\r\n  \r\nnumber,reason\r\n${n},late header\r\n`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ lines: 1, added: 1 });
    const again = await importCsv(`${uniqueNumber()}\nnumber,reason\n`);
    expect(again.statusCode).toBe(400);
    expect(again.json().errors.map((e: { field: string }) => e.field)).toEqual(['line 2']);
  });

  it('all or nothing: every bad line is named by its line number and nothing is written', async () => {
    const good = uniqueNumber();
    const csv = [
      'number,reason',
      good,
      'not-a-number,x',
      `${uniqueNumber()},"unterminated`,
      `${uniqueNumber()},a,b`,
      `${uniqueNumber()},${'r'.repeat(501)}`,
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual([
      'line 3',
      'line 4',
      'line 5',
      'line 6',
    ]);
    const listed = await t.app.inject({
      url: `${DNC}?number=${encodeURIComponent(good)}`,
      headers: manager(),
    });
    expect(listed.json().items).toEqual([]);
  });

  it('names the first 100 bad lines of a file with more; the detail counts them all', async () => {
    const csv = Array.from({ length: 150 }, (_, i) => `bad-${i},x`).join('\n');
    const res = await importCsv(csv);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('The file has 150 bad line(s); nothing was imported');
    const fields = res.json().errors.map((e: { field: string }) => e.field);
    expect(fields).toHaveLength(100);
    expect(fields.at(-1)).toBe('line 100');
  });

  it('an empty file, a wrong content type and an oversized body are refused', async () => {
    expect((await importCsv('number,reason\n')).statusCode).toBe(400);
    expect((await importCsv('')).statusCode).toBe(400);
    const json = await t.app.inject({
      method: 'POST',
      url: `${DNC}/import`,
      headers: manager(),
      payload: { number: uniqueNumber() },
    });
    expect(json.statusCode).toBe(415);
    expect((await importCsv(`${uniqueNumber()}\n`, manager(), 'text/plain')).statusCode).toBe(415);
    const big = `${uniqueNumber()},${'x'.repeat(400)}\n`.repeat(3000);
    expect((await importCsv(big)).statusCode).toBe(413);
    const many = Array.from({ length: 5001 }, (_, i) => `+1415${String(i).padStart(7, '0')}`);
    const tooMany = await importCsv(many.join('\n'));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().errors).toEqual([
      { field: 'line 5001', message: 'at most 5000 numbers per file' },
    ]);
  });
});

describe('the dispatcher applies the rules at claim time', () => {
  /** A dispatcher of its own, reading the calling window with a fixed clock. */
  const dispatcherAt = (now: Date) =>
    createDispatcher({
      database: t.database,
      config: t.config,
      logger: t.app.log as unknown as Logger,
      now: () => now,
    });

  async function dueCall(to = uniqueNumber(), extra: Record<string, unknown> = {}) {
    const res = await schedule(to, extra);
    expect(res.statusCode).toBe(201);
    await makeScheduledCallDue(t.database, res.json().id);
    return res.json() as { id: string; to: string };
  }

  it('outside the window: not placed, not failed, no attempt spent; due at the next opening', async () => {
    await putWindow({
      time_zone: 'America/New_York',
      days: [1, 2, 3, 4, 5],
      start: '09:00',
      end: '20:00',
    });
    const s = await dueCall();
    // Saturday 2026-03-07 12:00 EST: the next opening is Monday 2026-03-09 09:00 EDT (13:00Z),
    // the first weekday after the spring-forward night.
    await dispatcherAt(new Date('2026-03-07T17:00:00.000Z')).runOnce();
    expect(fake.calls.filter((c) => c.scheduledCallId === s.id)).toHaveLength(0);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      dispatch_key: null,
      lease_expires_at: null,
      // Put off apart from its due time, which stays as it was (the window may change before).
      window_deferred_until: new Date('2026-03-09T13:00:00.000Z'),
    });
    expect((await scheduledCallRow(t.database, s.id)).next_attempt_at.getTime()).toBeLessThan(
      Date.now(),
    );
    // Due again (the fixed clock is in the past of the database's): inside the window it goes, once.
    await makeScheduledCallDue(t.database, s.id);
    const inside = dispatcherAt(new Date('2026-03-09T13:00:00.000Z'));
    await inside.runOnce();
    await inside.runOnce();
    expect(fake.calls.filter((c) => c.scheduledCallId === s.id)).toHaveLength(1);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'dispatched',
      attempts: 1,
    });
    await clearWindow();
  });

  it("the recipient's zone decides: open in New York, closed in Tokyo", async () => {
    await putWindow({
      time_zone: 'America/New_York',
      days: [1, 2, 3, 4, 5, 6, 7],
      start: '09:00',
      end: '17:00',
    });
    const ny = await dueCall();
    const tokyo = await dueCall(uniqueNumber(), { recipient_time_zone: 'Asia/Tokyo' });
    // 2026-11-30 15:00Z: 10:00 in New York, 00:00 in Tokyo (opens 09:00 JST = 00:00Z Dec 1).
    await dispatcherAt(new Date('2026-11-30T15:00:00.000Z')).runOnce();
    expect((await scheduledCallRow(t.database, ny.id)).status).toBe('dispatched');
    expect(await scheduledCallRow(t.database, tokyo.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      window_deferred_until: new Date('2026-12-01T00:00:00.000Z'),
    });
    expect(fake.calls.filter((c) => c.scheduledCallId === tokyo.id)).toHaveLength(0);
    await clearWindow();
  });

  it('a number listed after scheduling (a race past the cancellation) is refused at claim', async () => {
    const s = await dueCall();
    // Listed behind the service's back, as a concurrent add that missed this call would leave it.
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('do_not_call_numbers')
        .values({ id: newId(), org_id: a.org.id, number: s.to, reason: 'race', added_by: null })
        .execute(),
    );
    await t.app.dispatcher.runOnce();
    expect(fake.calls.filter((c) => c.scheduledCallId === s.id)).toHaveLength(0);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'cancelled',
      last_error: 'The number was added to the do-not-call list',
    });
    const audit = await auditOf(t.database, a.org.id);
    expect(
      audit.find((e) => e.action === 'scheduled_call.cancel' && e.target_id === s.id),
    ).toMatchObject({ actor_type: 'system', metadata: { reason: 'do_not_call', at: 'dispatch' } });
  });

  it('the claim reads the rules with the call (one statement)', async () => {
    await putWindow({ time_zone: 'Europe/Berlin', days: [2], start: '08:00', end: '09:00' });
    const s = await dueCall(uniqueNumber(), { recipient_time_zone: 'Asia/Tokyo' });
    const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
    const mine = claimed.find((c) => c.id === s.id);
    expect(mine).toMatchObject({
      on_do_not_call: false,
      recipient_time_zone: 'Asia/Tokyo',
      window_time_zone: 'Europe/Berlin',
      window_start_minute: 480,
      window_end_minute: 540,
    });
    expect(mine?.window_days?.map(Number)).toEqual([2]);
    await clearWindow();
  });

  const placed = (id: string) => fake.calls.filter((c) => c.scheduledCallId === id);
  const getCall = async (id: string) => {
    const res = await t.app.inject({ url: `/api/scheduled-calls/${id}`, headers: owner() });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { dispatch_at: string | null; status: string };
  };
  /** A pending call the dispatcher has put off to the window's opening, an hour away or more. */
  async function deferredCall(extra: Record<string, unknown> = {}) {
    const s = await dueCall(uniqueNumber(), extra);
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(0);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    const at = (await getCall(s.id)).dispatch_at;
    expect(new Date(at!).getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    return s;
  }
  /** The call is due now (dispatch_at not after now) and the next pass places it, once. */
  async function goesNow(id: string) {
    expect(new Date((await getCall(id)).dispatch_at!).getTime()).toBeLessThanOrEqual(Date.now());
    await t.app.dispatcher.runOnce();
    expect(placed(id)).toHaveLength(1);
    expect((await scheduledCallRow(t.database, id)).status).toBe('dispatched');
  }

  it('a call the window put off goes at once once the window is removed', async () => {
    await putWindow(closedNow());
    const s = await deferredCall();
    expect((await clearWindow()).statusCode).toBe(204);
    await goesNow(s.id);
  });

  it('a call the window put off goes at once once the window is replaced by one open now', async () => {
    await putWindow(closedNow());
    const s = await deferredCall();
    expect((await putWindow(openNow())).statusCode).toBe(200);
    await goesNow(s.id);
    await clearWindow();
  });

  it("a call put off for its recipient's zone goes at once once that zone is removed", async () => {
    await putWindow(openNow());
    const s = await deferredCall({ recipient_time_zone: 'Asia/Tokyo' });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/scheduled-calls/${s.id}`,
      headers: owner(),
      payload: { recipient_time_zone: null },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await goesNow(s.id);
    await clearWindow();
  });

  it('a call put off again after its window changed still waits for the new opening', async () => {
    await putWindow(closedNow());
    const s = await deferredCall();
    // Another window, closed now too: the call waits for its opening, not the old one's.
    const other = closedNow();
    const start = (Number(other.start.slice(0, 2)) + 3) % 24;
    await putWindow({ ...other, start: clock(start), end: clock(start + 1) });
    const at = new Date((await getCall(s.id)).dispatch_at!);
    expect(at.getUTCHours()).toBe(start);
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(0);
    expect((await getCall(s.id)).dispatch_at).toBe(at.toISOString());
    await clearWindow();
    await goesNow(s.id);
  });

  it('a window deferral computed under a window changed since does not hold the call', async () => {
    await putWindow(closedNow());
    const s = await dueCall();
    const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
    const mine = claimed.find((c) => c.id === s.id)!;
    const gate = dispatchGate(mine, new Date());
    expect(gate.kind).toBe('defer');
    if (gate.kind !== 'defer') return;
    // The window is removed between the claim and the deferral the claim's window decided.
    await clearWindow();
    const service = { orgId: a.org.id, userId: null, role: null };
    const owned = await withTenant(t.database, service, (tx) =>
      markWindowDeferred(tx, a.org.id, s.id, mine.dispatch_key, gate.until, gate.window),
    );
    expect(owned).toBe(true);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      dispatch_key: null,
      window_deferred_until: null,
    });
    await goesNow(s.id);
  });

  it('a deferral is conditioned on the claim: a stale dispatch key changes nothing', async () => {
    const s = await dueCall();
    const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
    const mine = claimed.find((c) => c.id === s.id)!;
    const until = new Date(Date.now() + 86_400_000);
    const service = { orgId: a.org.id, userId: null, role: null };
    const stale = await withTenant(t.database, service, (tx) =>
      markDeferred(tx, a.org.id, s.id, newId(), until),
    );
    expect(stale).toBe(false);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'dispatching',
      attempts: 1,
      dispatch_key: mine.dispatch_key,
    });
    const owned = await withTenant(t.database, service, (tx) =>
      markDeferred(tx, a.org.id, s.id, mine.dispatch_key, until),
    );
    expect(owned).toBe(true);
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      dispatch_key: null,
      next_attempt_at: until,
    });
    // The same key again (a retried write): the attempt no longer owns the row.
    const again = await withTenant(t.database, service, (tx) =>
      markDeferred(tx, a.org.id, s.id, mine.dispatch_key, until),
    );
    expect(again).toBe(false);
  });
});
