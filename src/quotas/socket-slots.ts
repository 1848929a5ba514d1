// The device-socket quota. A socket takes a slot when its upgrade is accepted (refused at the
// limit: the gate closes it with 1013 "try again later"), renews it every third of
// QUOTA_SOCKET_LEASE_SECONDS while open (the heartbeat: an instance that dies stops renewing, so
// its sockets' slots run out by themselves) and releases it when the socket closes.
import { randomUUID } from 'node:crypto';
import type { Quotas } from './quotas.service.ts';

export interface SocketSlot {
  /** Extend the lease now (the timer does this every third of the lease). */
  renew(): Promise<void>;
  /** The socket closed: stop renewing and give the slot back. Safe to call twice. */
  release(): Promise<void>;
}

const NOTHING: SocketSlot = { renew: async () => {}, release: async () => {} };

/** A slot for a socket of `orgId`, or null when the org's quota is used up. */
export async function takeSocketSlot(
  quotas: Quotas | undefined,
  orgId: string,
): Promise<SocketSlot | null> {
  if (!quotas) return NOTHING;
  const lease = `ws:${randomUUID()}`;
  const ttlMs = quotas.socketLeaseSeconds * 1000;
  const acquire = () =>
    quotas.acquire(orgId, 'device_sockets', lease, { expiresAt: quotas.now() + ttlMs });
  if (!(await acquire()).ok) return null;
  let released = false;
  // Invariant: no renewal writes after the release. A renewal still in flight when the socket
  // closed would otherwise land after the release and bring the lease back for a whole
  // QUOTA_SOCKET_LEASE_SECONDS: a slot of the org's quota held by a socket that is gone.
  let renewal: Promise<unknown> = Promise.resolve();
  const renewNow = () => {
    if (released) return renewal;
    // One at a time, each after the last (failed or not).
    renewal = renewal.catch(() => {}).then(() => (released ? undefined : acquire()));
    return renewal;
  };
  const timer = setInterval(() => {
    renewNow().catch(() => {});
  }, ttlMs / 3);
  timer.unref();
  return {
    async renew() {
      await renewNow();
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await renewal.catch(() => {});
      await quotas.release(orgId, 'device_sockets', [lease]);
    },
  };
}
