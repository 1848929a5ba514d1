// The snake_case id filters of the owned resources' lists (owner_id, phone_id, agent_id), each
// applied. Threat: a filter the route drops lists every row the caller sees (GET /api/calls
// dropped phone_id and agent_id: its route spread the query into a filter spelled phoneId). These
// routes spread their query too, into service parameters spelled like the query, which map them;
// this pins that each one filters, to the asked row's, and that another org's id finds nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { appForFile, as } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { callingAgent, create, twilioEnv } from '../test/twilio.ts';

const t = appForFile({ headerAuth: true, env: twilioEnv() });
let a: Awaited<ReturnType<typeof createTeam>>;
type Owned = {
  phone: { id: string };
  agent: { id: string };
  messageAgent: { id: string };
  scheduled: { id: string };
  prompt: { id: string };
};
let owner: Owned;
let member: Owned;
let orgB: Owned;

async function kit(user: { id: string }, org: { id: string }, role: 'owner' | 'member') {
  const who = [user, org, role] as [{ id: string }, { id: string }, 'owner' | 'member'];
  const { phone, agent } = await callingAgent(t, who);
  const messageAgent = await create(t.app, '/api/message-agents', who, {
    name: 'm',
    phone_id: phone.id,
    active: false,
  });
  const scheduled = await create(t.app, '/api/scheduled-calls', who, {
    agent_id: agent.id,
    to: '+14155550100',
    scheduled_at: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const prompt = await create(t.app, '/api/prompts', who, { name: 'p', content: 'Be brief.' });
  return { phone, agent, messageAgent, scheduled, prompt };
}

beforeAll(async () => {
  a = await createTeam(t.database);
  const b = await createTeam(t.database);
  owner = await kit(a.owner, a.org, 'owner');
  member = await kit(a.member, a.org, 'member');
  orgB = await kit(b.owner, b.org, 'owner');
});

async function ids(url: string): Promise<string[]> {
  const res = await t.app.inject({
    url: `${url}&limit=100`,
    headers: as(a.owner, a.org, 'owner'),
  });
  expect(res.statusCode, url).toBe(200);
  return res.json().items.map((x: { id: string }) => x.id);
}

describe('owned lists: each id filter applies (as the org owner, who sees every row)', () => {
  const cases: [url: () => string, expected: () => string[]][] = [
    [() => `/api/phones?owner_id=${a.member.id}`, () => [member.phone.id]],
    [() => `/api/agents?owner_id=${a.member.id}`, () => [member.agent.id]],
    [() => `/api/agents?phone_id=${owner.phone.id}`, () => [owner.agent.id]],
    [() => `/api/message-agents?owner_id=${a.member.id}`, () => [member.messageAgent.id]],
    [() => `/api/message-agents?phone_id=${owner.phone.id}`, () => [owner.messageAgent.id]],
    [() => `/api/scheduled-calls?owner_id=${a.member.id}`, () => [member.scheduled.id]],
    [() => `/api/scheduled-calls?agent_id=${owner.agent.id}`, () => [owner.scheduled.id]],
    [() => `/api/prompts?owner_id=${a.member.id}`, () => [member.prompt.id]],
    // Another org's ids, and an id of nothing: nothing, never every row.
    [() => `/api/agents?phone_id=${orgB.phone.id}`, () => []],
    [() => `/api/message-agents?phone_id=${orgB.phone.id}`, () => []],
    [() => `/api/scheduled-calls?agent_id=${orgB.agent.id}`, () => []],
    [() => `/api/phones?owner_id=${newId()}`, () => []],
    [() => `/api/prompts?owner_id=${newId()}`, () => []],
  ];

  it('phones, agents, messaging agents, scheduled calls, prompts', async () => {
    for (const [url, expected] of cases) {
      expect(await ids(url()), url()).toEqual(expected());
    }
  });
});
