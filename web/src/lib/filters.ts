// A filter form's two states. The list follows `applied`, which changes only when the form is
// applied or cleared, so typing in a filter never refetches.
import { type ChangeEvent, type Dispatch, type SetStateAction, useCallback, useState } from 'react';
import { type Page, type PagedList, usePagedList } from './paged-list.ts';
import { useToast } from './toast.tsx';

type InputChange = ChangeEvent<HTMLInputElement | HTMLSelectElement>;

export interface DraftFilters<F> {
  /** What the form shows. */
  draft: F;
  /** What the list follows. */
  applied: F;
  set<K extends keyof F>(key: K, value: F[K]): void;
  /** An input or select bound to the draft's `key`: `<TextField {...filters.field('number')} />`. */
  field<K extends keyof F>(key: K): { value: F[K]; onChange: (e: InputChange) => void };
  apply: Dispatch<SetStateAction<F>>;
  /** Back to the initial filters, in the form and the list. */
  clear(): void;
  /** Whether the applied filters narrow the list (they differ from the initial ones). */
  filtered: boolean;
}

export function useDraftFilters<F extends object>(initial: F): DraftFilters<F> {
  const [draft, setDraft] = useState<F>(initial);
  const [applied, apply] = useState<F>(initial);
  const set = <K extends keyof F>(key: K, value: F[K]) => setDraft((d) => ({ ...d, [key]: value }));
  // A form control's value is a string: the filter's type (a status, '') is the form's to keep.
  const field = <K extends keyof F>(key: K) => ({
    value: draft[key],
    onChange: (e: InputChange) => set(key, e.target.value as F[K]),
  });
  const clear = () => {
    setDraft(initial);
    apply(initial);
  };
  const filtered = JSON.stringify(applied) !== JSON.stringify(initial);
  return { draft, applied, set, field, apply, clear, filtered };
}

/**
 * A log filtered by a form: the form's state and the cursor-paged rows of its applied filters (a
 * failed "load more" is a toast). `fetchPage` is stable (module level): the list refetches when
 * the applied filters change, not on every render.
 */
export interface FilteredList<F, T> {
  filters: DraftFilters<F>;
  list: PagedList<T>;
}

export function useFilteredList<F extends object, T>(
  initial: F,
  fetchPage: (filters: F, cursor: string | undefined) => Promise<Page<T>>,
): FilteredList<F, T> {
  const toast = useToast();
  const filters = useDraftFilters<F>(initial);
  const { applied } = filters;
  const list = usePagedList(
    useCallback((cursor: string | undefined) => fetchPage(applied, cursor), [fetchPage, applied]),
    toast.error,
  );
  return { filters, list };
}

/** A local day (yyyy-mm-dd) plus `plusDays`, at 00:00, as ISO; empty or invalid is no bound. */
function localDayStart(value: string, plusDays = 0): string | undefined {
  if (!value) return undefined;
  const [y, m, d] = value.split('-').map(Number);
  const at = new Date(y ?? 0, (m ?? 1) - 1, (d ?? 1) + plusDays);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/** The API's `since`/`until` for a range of local days, `until` inclusive: [since 00:00, until+1 00:00). */
export function dayRange(since: string, until: string) {
  return { since: localDayStart(since), until: localDayStart(until, 1) };
}

/** What every log filters on (calls, conversations, voice sessions): a status, '' for all, and days. */
export interface LogFilters<S extends string> {
  status: S | '';
  since: string; // yyyy-mm-dd, local
  until: string; // yyyy-mm-dd, local, inclusive
}

export const NO_LOG_FILTERS = { status: '', since: '', until: '' } as const;

/** A log page's query for those filters: 20 rows from `cursor`, the status, the days as ISO. */
export function logQuery<S extends string>(f: LogFilters<S>, cursor: string | undefined) {
  return { limit: 20, cursor, status: f.status || undefined, ...dayRange(f.since, f.until) };
}
