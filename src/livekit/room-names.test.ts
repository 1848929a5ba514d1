// The room namespace: what a client may name, and how a webhook's room maps back to its org.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../http/errors.ts';
import { namespacedRoom, parseRoom, personalRoom, roomFilter } from './room-names.ts';

const org = randomUUID();
const other = randomUUID();
const user = randomUUID();

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'other';
  }
  return 'none';
};

describe('room names', () => {
  it('namespaces the name inside the org, the personal room by default', () => {
    expect(namespacedRoom(org, user, 'standup')).toBe(`${org}__standup`);
    expect(namespacedRoom(org, user, undefined)).toBe(`${org}__${personalRoom(user)}`);
    expect(namespacedRoom(org, user, `user-${user}`)).toBe(`${org}__user-${user}`);
    expect(namespacedRoom(org, user, 'a_b-c9')).toBe(`${org}__a_b-c9`);
  });

  it.each([
    `${other}__standup`,
    `${org}__standup`,
    'a__b',
    '__',
    '_a',
    'a.b',
    'a/b',
    'é',
    '',
    'x'.repeat(65),
  ])('refuses %j (400)', (name) => {
    expect(codeOf(() => namespacedRoom(org, user, name))).toBe('validation_failed');
  });

  it("refuses another user's personal room (403)", () => {
    expect(codeOf(() => namespacedRoom(org, user, `user-${randomUUID()}`))).toBe('forbidden');
    expect(codeOf(() => namespacedRoom(org, user, 'USER-x'))).toBe('forbidden');
  });

  it('maps a full name back to its org, and nothing else', () => {
    expect(parseRoom(`${org}__standup`)).toEqual({ orgId: org, name: 'standup' });
    for (const bad of [
      'standup',
      `${org}_standup`,
      `${org}__`,
      `${org}__a__b`,
      `${org.toUpperCase()}__x`,
      `x${org}__x`,
    ]) {
      expect(parseRoom(bad), bad).toBeNull();
    }
  });

  it('filters by the name inside the org or its own full name only', () => {
    expect(roomFilter(org, 'standup')).toBe(`${org}__standup`);
    expect(roomFilter(org, `${org}__standup`)).toBe(`${org}__standup`);
    expect(codeOf(() => roomFilter(org, `${other}__standup`))).toBe('validation_failed');
  });
});
