// The per-instance socket limits: per person (whatever org) and per org.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { createSocketRegistry, type LiveSocket } from './socket-registry.ts';

function fakeSocket() {
  const s = Object.assign(new EventEmitter(), {
    OPEN: 1,
    CONNECTING: 0,
    readyState: 1,
    close() {
      s.readyState = 3;
      s.emit('close');
    },
  });
  return s;
}

function entry(orgId: string, userId: string): LiveSocket {
  return {
    socket: fakeSocket() as unknown as WebSocket,
    orgId,
    userId,
    deviceId: `${orgId}-${userId}`,
    clientId: 'c',
    controller: new AbortController(),
  };
}

describe('socket registry limits', () => {
  it('count one person across every org they are in (orgs are self-service)', () => {
    const r = createSocketRegistry({ perUser: 2, perOrg: 10 });
    expect(r.add(entry('org-a', 'u1'))).toBe(true);
    expect(r.add(entry('org-b', 'u1'))).toBe(true);
    expect(r.fits('org-c', 'u1')).toBe(false);
    expect(r.add(entry('org-c', 'u1'))).toBe(false);
    // Someone else in the same orgs is not affected.
    expect(r.add(entry('org-a', 'u2'))).toBe(true);
  });

  it('count every socket of an org, and give a slot back when a socket closes', () => {
    const r = createSocketRegistry({ perUser: 10, perOrg: 2 });
    const first = entry('org-a', 'u1');
    expect(r.add(first)).toBe(true);
    expect(r.add(entry('org-a', 'u2'))).toBe(true);
    expect(r.add(entry('org-a', 'u3'))).toBe(false);
    first.socket.close();
    expect(r.size).toBe(1);
    expect(r.add(entry('org-a', 'u3'))).toBe(true);
  });
});
