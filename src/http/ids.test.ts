// Ids are UUIDv7 and sort in the order they were made, within one millisecond too: lists ordered
// by id (messages, then the auto-reply written in the same transaction) depend on it.
import { expect, it } from 'vitest';
import { newId } from './ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('ids made one after another sort in that order, many per millisecond included', () => {
  const ids = Array.from({ length: 20_000 }, () => newId());
  expect(ids.every((id) => V7.test(id))).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
  // Far more than one per millisecond were made: the order came from the counter.
  const perMs = new Set(ids.map((id) => id.slice(0, 13))).size;
  expect(perMs).toBeLessThan(ids.length / 10);
});

it('keep 62 random bits after the counter, and carry the time they were made', () => {
  const before = Date.now();
  const a = newId();
  const after = Date.now();
  const ms = Number.parseInt(a.replace(/-/g, '').slice(0, 12), 16);
  expect(ms).toBeGreaterThanOrEqual(before);
  expect(ms).toBeLessThanOrEqual(after + 1);
  const tails = new Set(Array.from({ length: 1000 }, () => newId().slice(19)));
  expect(tails.size).toBe(1000);
});

it('an id for a given past millisecond (seed data) carries it and stays out of the sequence', () => {
  const at = Date.UTC(2026, 0, 1);
  const old = newId(at);
  expect(V7.test(old)).toBe(true);
  expect(Number.parseInt(old.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  expect(newId() > old).toBe(true);
});
