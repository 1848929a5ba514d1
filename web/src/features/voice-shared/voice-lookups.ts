// Voice code two or more features share: the phones and prompts an agent form (voice or
// messaging) chooses from, the lists that name phones and agents in logs, and the one way a phone
// is labelled. The agent forms load the API's largest page (100) of each choice, which covers any
// realistic org, and flag when there are more.
import { useCallback } from 'react';
import { api, type ResponseOf } from '../../lib/api.ts';
import { allPages, useLoad } from '../../lib/load.ts';

export type PhoneOption = ResponseOf<'/api/phones', 'get'>['items'][number];
export type PromptOption = ResponseOf<'/api/prompts', 'get'>['items'][number];
export type AgentOption = ResponseOf<'/api/agents', 'get'>['items'][number];

/** The API's maximum page size for list endpoints. */
const MAX_LIMIT = 100;
/** Pages walked for names in logs: enough for any realistic org, bounded to stay cheap. */
const NAME_PAGES = 10;

export interface Lookups {
  phones: PhoneOption[] | null;
  prompts: PromptOption[] | null;
  /** More than one page exists: some choices may be missing from the selects. */
  truncated: boolean;
  error: string | null;
  reload(): void;
}

async function loadChoices() {
  const [ph, pr] = await Promise.all([
    api.get('/api/phones', { query: { limit: MAX_LIMIT } }),
    api.get('/api/prompts', { query: { limit: MAX_LIMIT } }),
  ]);
  return {
    phones: ph.items,
    prompts: pr.items,
    truncated: ph.next_cursor !== null || pr.next_cursor !== null,
  };
}

export function useLookups(): Lookups {
  const { data, error, reload } = useLoad(loadChoices);
  return {
    phones: data?.phones ?? null,
    prompts: data?.prompts ?? null,
    truncated: data?.truncated ?? false,
    error,
    reload: useCallback(() => void reload(), [reload]),
  };
}

/** Every phone of the org (bounded), for naming the phones of calls and messages. */
export function allPhones(): Promise<PhoneOption[]> {
  return allPages(
    (cursor) => api.get('/api/phones', { query: { limit: MAX_LIMIT, cursor } }),
    NAME_PAGES,
  );
}

function agentPages(direction?: 'outgoing'): Promise<AgentOption[]> {
  return allPages(
    (cursor) => api.get('/api/agents', { query: { limit: MAX_LIMIT, direction, cursor } }),
    NAME_PAGES,
  );
}

/** Every agent the user sees (bounded), for naming the agents of calls. */
export const allAgents = () => agentPages();

/** Every outgoing agent the user sees (bounded): the ones that can place a scheduled call. */
export const allOutgoingAgents = () => agentPages('outgoing');

/** "+14155550100 · Support line", or just the number: how a phone is named everywhere. */
export function phoneText(p: Pick<PhoneOption, 'number' | 'label'>): string {
  return p.label ? `${p.number} · ${p.label}` : p.number;
}
