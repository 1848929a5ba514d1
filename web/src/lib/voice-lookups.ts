// The phones and prompts an agent form (voice or messaging) chooses from, loaded once per page:
// the API's largest page (100) of each, which covers any realistic org; it flags when there are more.
import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage, type ResponseOf } from './api.ts';

export type PhoneOption = ResponseOf<'/api/phones', 'get'>['items'][number];
export type PromptOption = ResponseOf<'/api/prompts', 'get'>['items'][number];

/** The API's maximum page size for list endpoints. */
const MAX_LIMIT = 100;

export interface Lookups {
  phones: PhoneOption[] | null;
  prompts: PromptOption[] | null;
  /** More than one page exists: some choices may be missing from the selects. */
  truncated: boolean;
  error: string | null;
  reload(): void;
}

export function useLookups(): Lookups {
  const [phones, setPhones] = useState<PhoneOption[] | null>(null);
  const [prompts, setPrompts] = useState<PromptOption[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(() => {
    setError(null);
    void Promise.all([
      api.get('/api/phones', { query: { limit: MAX_LIMIT } }),
      api.get('/api/prompts', { query: { limit: MAX_LIMIT } }),
    ]).then(
      ([ph, pr]) => {
        setPhones(ph.items);
        setPrompts(pr.items);
        setTruncated(ph.next_cursor !== null || pr.next_cursor !== null);
      },
      (err: unknown) => setError(errorMessage(err)),
    );
  }, []);

  useEffect(() => reload(), [reload]);

  return { phones, prompts, truncated, error, reload };
}

/** "+14155550100 · Support line", or just the number. */
export function phoneText(p: Pick<PhoneOption, 'number' | 'label'>): string {
  return p.label ? `${p.number} · ${p.label}` : p.number;
}
