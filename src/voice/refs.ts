// References between voice resources (an agent's phone and prompt, a scheduled call's agent):
// the referenced row must be one the caller can see, in the caller's org. The composite foreign
// keys make a cross-org reference impossible in the database; this answers it with a clear 400
// that reads the same whether the row exists elsewhere or not at all.
import { canSeeRow } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import type { Agent, Phone, Prompt } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { findPrompt } from '../prompts/prompt.repository.ts';
import { findAgent } from './agents/agent.repository.ts';
import { findPhone } from './phones/phone.repository.ts';
import { unknownReference } from './shared.ts';

function visible(p: Principal, row: { owner_id: string } | undefined): boolean {
  return !!row && canSeeRow(p, row.owner_id);
}

export async function usablePhone(tx: Tx, p: Principal, id: string, field = 'phone_id') {
  const row = await findPhone(tx, p.orgId, id);
  if (!visible(p, row)) throw unknownReference(field, 'phone');
  return row as Phone;
}

export async function usablePrompt(tx: Tx, p: Principal, id: string, field = 'prompt_id') {
  const row = await findPrompt(tx, p.orgId, id);
  if (!visible(p, row)) throw unknownReference(field, 'prompt');
  return row as Prompt;
}

export async function usableAgent(tx: Tx, p: Principal, id: string, field = 'agent_id') {
  const row = await findAgent(tx, p.orgId, id);
  if (!visible(p, row)) throw unknownReference(field, 'agent');
  return row as Agent;
}
