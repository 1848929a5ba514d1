// The device-socket slot's heartbeat: while its socket is open the slot is renewed, so it outlives
// QUOTA_SOCKET_LEASE_SECONDS; once renewals stop (the instance died) it runs out by itself; a
// close releases it at once, and twice is harmless. The clock is injected: nothing sleeps.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Org } from '../db/schema.ts';
import { testConfig } from '../test/app.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createOrg } from '../test/factories.ts';
import { createQuotas, type Quotas } from './quotas.service.ts';
import { takeSocketSlot } from './socket-slots.ts';

let database: TestDatabase;
let quotas: Quotas;
let org: Org;
let now = Date.UTC(2026, 10, 30, 12, 0, 0);

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig({ QUOTA_SOCKET_LEASE_SECONDS: '60', QUOTA_MAX_DEVICE_SOCKETS: '2' });
  quotas = createQuotas({ database, config, now: () => now });
  org = await createOrg(database, 'Socket slots');
});
afterAll(() => database.close());

const live = async () =>
  (await quotas.usage({ userId: org.id, orgId: org.id, role: 'owner', superuser: false }))
    .device_sockets.live;

it('renewed while open, expired once renewals stop, released on close', async () => {
  const kept = await takeSocketSlot(quotas, org.id);
  const dead = await takeSocketSlot(quotas, org.id);
  expect(kept).not.toBeNull();
  expect(dead).not.toBeNull();
  expect(await takeSocketSlot(quotas, org.id)).toBeNull();
  expect(await live()).toBe(2);

  // 40 s on: the heartbeat renews one socket's lease; the other's instance has gone quiet.
  now += 40_000;
  await kept!.renew();
  now += 40_000; // 80 s after opening: past the 60 s lease of the silent one
  expect(await live()).toBe(1);
  const next = await takeSocketSlot(quotas, org.id);
  expect(next).not.toBeNull();
  expect(await takeSocketSlot(quotas, org.id)).toBeNull();

  await kept!.release();
  await kept!.release();
  expect(await live()).toBe(1);
  // A released slot is not renewed again by a late heartbeat.
  await kept!.renew();
  expect(await live()).toBe(1);
  await next!.release();
  await dead!.release();
  expect(await live()).toBe(0);
});

it('a renewal still in flight when the socket closes does not bring the slot back', async () => {
  // The heartbeat's write is slow (a busy database); the socket closes meanwhile.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let gated = false;
  const slow: Quotas = {
    ...quotas,
    acquire: async (...args: Parameters<Quotas['acquire']>) => {
      if (gated) await gate;
      return quotas.acquire(...args);
    },
  };
  const slot = await takeSocketSlot(slow, org.id);
  expect(await live()).toBe(1);
  gated = true;
  const renewing = slot!.renew();
  const releasing = slot!.release();
  open();
  await Promise.all([renewing, releasing]);
  expect(await live()).toBe(0);
});
