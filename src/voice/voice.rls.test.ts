// Row-level security of the voice and telephony tables, proven in the database itself (PGlite and
// PostgreSQL): no context sees nothing; members see their own rows and the logs of their own
// phones and agents; people never write logs; the org service context (webhooks, dispatcher) is
// confined to its org and cannot touch resources; credentials are for owners and admins.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../db/schema.ts';
import { type TenantContext, type Tx, withSystem, withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { withOrgService } from '../telephony/org-service.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { uniqueNumber } from '../test/twilio.ts';

let database: TestDatabase;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
const ids: Record<string, string> = {};
const TABLES = [
  'phones',
  'agents',
  'message_agents',
  'scheduled_calls',
  'calls',
  'call_events',
  'messages',
  'org_twilio_credentials',
] as const;

const ctx = (team: typeof a, role: Role | 'member2'): TenantContext => ({
  orgId: team.org.id,
  userId: team[role].id,
  role: role === 'member2' ? 'member' : role,
});

/** A new, inactive phone row of `orgId` owned by `ownerId`. */
const inactivePhone = (orgId: string, ownerId: string) => ({
  id: newId(),
  org_id: orgId,
  owner_id: ownerId,
  number: uniqueNumber(),
  label: null,
  active: false,
});

async function seed(team: typeof a, owner: { id: string }, key: string) {
  await withSystem(database, async (tx) => {
    const phone = newId();
    const agent = newId();
    ids[`${key}.phone`] = phone;
    ids[`${key}.agent`] = agent;
    await tx
      .insertInto('phones')
      .values({
        id: phone,
        org_id: team.org.id,
        owner_id: owner.id,
        number: uniqueNumber(),
        label: null,
        active: true,
      })
      .execute();
    await tx
      .insertInto('agents')
      .values({
        id: agent,
        org_id: team.org.id,
        owner_id: owner.id,
        name: key,
        direction: 'outgoing',
        phone_id: phone,
        prompt_id: null,
        instructions: null,
        greeting: null,
        voice: null,
        language: null,
        media_stream_url: null,
        active: true,
      })
      .execute();
    await tx
      .insertInto('message_agents')
      .values({
        id: newId(),
        org_id: team.org.id,
        owner_id: owner.id,
        name: key,
        phone_id: phone,
        prompt_id: null,
        auto_reply: null,
        active: true,
      })
      .execute();
    await tx
      .insertInto('scheduled_calls')
      .values({
        id: newId(),
        org_id: team.org.id,
        owner_id: owner.id,
        agent_id: agent,
        to_number: '+14155550100',
        scheduled_at: new Date(),
        next_attempt_at: new Date(),
      })
      .execute();
    const sid = `CA${newId().replace(/-/g, '')}`;
    ids[`${key}.call`] = sid;
    await tx
      .insertInto('calls')
      .values(callRow(team.org.id, sid, { phone_owner_id: owner.id }))
      .execute();
    await tx
      .insertInto('call_events')
      .values({ call_sid: sid, status: 'ringing', org_id: team.org.id })
      .execute();
    await tx
      .insertInto('messages')
      .values({
        id: newId(),
        org_id: team.org.id,
        message_sid: null,
        phone_id: phone,
        message_agent_id: null,
        phone_owner_id: owner.id,
        agent_owner_id: null,
        direction: 'inbound',
        from_number: '+1',
        to_number: '+2',
        counterpart: '+1',
        body: 'hi',
        num_media: 0,
        status: null,
        in_reply_to: null,
      })
      .execute();
  });
}

function callRow(
  orgId: string,
  sid: string,
  owners: { phone_owner_id?: string; agent_owner_id?: string },
) {
  return {
    id: newId(),
    org_id: orgId,
    call_sid: sid,
    phone_id: null,
    agent_id: null,
    scheduled_call_id: null,
    phone_owner_id: owners.phone_owner_id ?? null,
    agent_owner_id: owners.agent_owner_id ?? null,
    direction: 'inbound' as const,
    from_number: '+14155550100',
    to_number: '+14155550101',
    status: 'ringing' as const,
    answered_at: null,
    ended_at: null,
    duration_seconds: null,
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  a = await createTeam(database);
  b = await createTeam(database);
  await seed(a, a.member, 'a.member');
  await seed(a, a.member2, 'a.member2');
  await seed(b, b.owner, 'b.owner');
  await withSystem(database, (tx) =>
    tx
      .insertInto('org_twilio_credentials')
      .values({ org_id: a.org.id, account_sid: `AC${'a'.repeat(32)}`, auth_token_enc: 'v1.sealed' })
      .execute(),
  );
  // A call of member2's phone answered by member's agent: member sees it as the agent's owner.
  await withSystem(database, (tx) =>
    tx
      .insertInto('calls')
      .values(
        callRow(a.org.id, `CA${'e'.repeat(32)}`, {
          phone_owner_id: a.member2.id,
          agent_owner_id: a.member.id,
        }),
      )
      .execute(),
  );
});
afterAll(() => database.close());

const count = (tx: Tx, table: (typeof TABLES)[number]) =>
  sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`
    .execute(tx)
    .then((r) => r.rows[0]!.n);

describe('voice tables: row-level security', () => {
  it('is enabled and forced on every voice table', async () => {
    const { rows } = await withSystem(database, (tx) =>
      sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>`
        select relname, relrowsecurity, relforcerowsecurity from pg_class
        where relname in (${sql.join([...TABLES])})`.execute(tx),
    );
    expect(rows).toHaveLength(TABLES.length);
    for (const r of rows)
      expect(r, r.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it('without tenant context every table is empty', async () => {
    await withTenant(database, { orgId: null, userId: null, role: null }, async (tx) => {
      for (const table of TABLES) expect(await count(tx, table), table).toBe(0);
    });
  });

  it('a member sees their own resources, and the calls and messages of their own phones and agents', async () => {
    await withTenant(database, ctx(a, 'member'), async (tx) => {
      const phones = await tx.selectFrom('phones').select('id').execute();
      expect(phones.map((p) => p.id)).toEqual([ids['a.member.phone']]);
      expect(await count(tx, 'agents')).toBe(1);
      expect(await count(tx, 'scheduled_calls')).toBe(1);
      const calls = await tx.selectFrom('calls').select('call_sid').orderBy('call_sid').execute();
      expect(calls.map((c) => c.call_sid).sort()).toEqual(
        [ids['a.member.call'], `CA${'e'.repeat(32)}`].sort(),
      );
      expect(await count(tx, 'messages')).toBe(1);
      expect(await count(tx, 'call_events')).toBe(0);
      expect(await count(tx, 'org_twilio_credentials')).toBe(0);
    });
  });

  it('managers see the whole org but not its credentials; admins see the credentials; nobody another org', async () => {
    await withTenant(database, ctx(a, 'manager'), async (tx) => {
      expect(await count(tx, 'phones')).toBe(2);
      expect(await count(tx, 'calls')).toBe(3);
      expect(await count(tx, 'org_twilio_credentials')).toBe(0);
    });
    await withTenant(database, ctx(a, 'admin'), async (tx) => {
      expect(await count(tx, 'org_twilio_credentials')).toBe(1);
      const orgs = await tx.selectFrom('phones').select('org_id').distinct().execute();
      expect(orgs).toEqual([{ org_id: a.org.id }]);
    });
  });

  it('a member cannot write a row owned by someone else, nor change one', async () => {
    await expect(
      withTenant(database, ctx(a, 'member'), (tx) =>
        tx.insertInto('phones').values(inactivePhone(a.org.id, a.member2.id)).execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    const updated = await withTenant(database, ctx(a, 'member'), (tx) =>
      tx
        .updateTable('phones')
        .set({ label: 'mine now' })
        .where('id', '=', ids['a.member2.phone']!)
        .executeTakeFirst(),
    );
    expect(Number(updated.numUpdatedRows)).toBe(0);
  });

  it('people never write call or message logs, whatever their role', async () => {
    for (const role of ['owner', 'admin', 'manager', 'member'] as const) {
      await expect(
        withTenant(database, ctx(a, role), (tx) =>
          tx
            .insertInto('calls')
            .values(
              callRow(a.org.id, `CA${newId().replace(/-/g, '')}`, { phone_owner_id: a[role].id }),
            )
            .execute(),
        ),
        role,
      ).rejects.toThrow(/row-level security/);
      await expect(
        withTenant(database, ctx(a, role), (tx) =>
          tx
            .insertInto('call_events')
            .values({ call_sid: `CA${'f'.repeat(32)}`, status: 'completed', org_id: a.org.id })
            .execute(),
        ),
      ).rejects.toThrow(/row-level security/);
      const res = await withTenant(database, ctx(a, role), (tx) =>
        tx
          .updateTable('calls')
          .set({ status: 'completed' })
          .where('org_id', '=', a.org.id)
          .executeTakeFirst(),
      ).catch((err) => err);
      // Either refused outright or no row passes the check: the logs stay as they were.
      if (!(res instanceof Error)) expect(Number(res.numUpdatedRows)).toBe(0);
    }
  });

  it('the org service context writes its own logs, reads its resources, and nothing else', async () => {
    await withOrgService(database, a.org.id, async (tx) => {
      expect(await count(tx, 'phones')).toBe(2);
      expect(await count(tx, 'calls')).toBe(3);
      // Its own org's sealed credentials, read-only (phone verification, migration 0007).
      expect(await count(tx, 'org_twilio_credentials')).toBe(1);
      await expect(
        tx
          .updateTable('org_twilio_credentials')
          .set({ account_sid: `AC${'e'.repeat(32)}` })
          .where('org_id', '=', a.org.id)
          .executeTakeFirst()
          .then((r) => Number(r.numUpdatedRows)),
      ).resolves.toBe(0);
      await tx
        .insertInto('calls')
        .values(callRow(a.org.id, `CA${newId().replace(/-/g, '')}`, {}))
        .execute();
    });
    await expect(
      withOrgService(database, a.org.id, (tx) =>
        tx
          .insertInto('calls')
          .values(callRow(b.org.id, `CA${newId().replace(/-/g, '')}`, {}))
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      withOrgService(database, a.org.id, (tx) =>
        tx.insertInto('phones').values(inactivePhone(a.org.id, a.owner.id)).execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    const moved = await withOrgService(database, a.org.id, (tx) =>
      tx
        .updateTable('calls')
        .set({ status: 'completed' })
        .where('call_sid', '=', ids['b.owner.call']!)
        .executeTakeFirst(),
    );
    expect(Number(moved.numUpdatedRows)).toBe(0);
  });

  it('there is no DELETE: resources are soft-deleted, logs kept', async () => {
    for (const table of ['phones', 'calls', 'messages'] as const) {
      await expect(
        withTenant(database, ctx(a, 'owner'), (tx) =>
          sql`delete from ${sql.table(table)}`.execute(tx),
        ),
        table,
      ).rejects.toThrow(/permission denied/);
    }
  });

  it('a reference across orgs is impossible in the database itself (composite foreign keys)', async () => {
    await expect(
      withSystem(database, (tx) =>
        tx
          .insertInto('agents')
          .values({
            id: newId(),
            org_id: a.org.id,
            owner_id: a.owner.id,
            name: 'x',
            direction: 'incoming',
            phone_id: ids['b.owner.phone']!,
            prompt_id: null,
            instructions: null,
            greeting: null,
            voice: null,
            language: null,
            media_stream_url: null,
            active: false,
          })
          .execute(),
      ),
    ).rejects.toThrow(/foreign key/);
  });

  it("an agent's or a message agent's prompt is never another org's, in the database itself", async () => {
    // b's prompt, and a's own for the control.
    const prompt = async (team: typeof a) => {
      const id = newId();
      await withSystem(database, (tx) =>
        tx
          .insertInto('prompts')
          .values({ id, org_id: team.org.id, owner_id: team.owner.id, name: 'p', content: 'c' })
          .execute(),
      );
      return id;
    };
    const theirs = await prompt(b);
    const ours = await prompt(a);
    const point = (table: 'agents' | 'message_agents', prompt_id: string) =>
      withSystem(database, (tx) =>
        tx
          .updateTable(table)
          .set({ prompt_id })
          .where('org_id', '=', a.org.id)
          .where('phone_id', '=', ids['a.member.phone']!)
          .execute(),
      );
    for (const table of ['agents', 'message_agents'] as const) {
      await expect(point(table, theirs), table).rejects.toThrow(/foreign key/);
      await point(table, ours);
    }
  });
});
