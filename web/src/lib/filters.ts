// A filter form's two states. The list follows `applied`, which changes only when the form is
// applied or cleared, so typing in a filter never refetches.
import {
  type ChangeEvent,
  type Dispatch,
  type FormEvent,
  type SetStateAction,
  useCallback,
  useState,
} from 'react';
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
  /**
   * Applies the draft (`tidy` first) unless the day range refuses it: then `errors` says why at
   * the refused field, whose key is returned (for the focus), and the list keeps its filters.
   */
  submit(tidy?: (draft: F) => F): keyof F | null;
  /** Why the last submit was refused, by field (empty when it was not). */
  errors: Partial<Record<keyof F, string>>;
  /** Back to the initial filters, in the form and the list. */
  clear(): void;
  /** Whether the applied filters narrow the list (they differ from the initial ones). */
  filtered: boolean;
}

/**
 * A filter's day range: the first and last day its filters stand for (yyyy-mm-dd, local, both
 * inclusive, '' for no bound) and the field that names a refused range (its first day).
 */
export interface DayRangeRule<F> {
  field: keyof F;
  days(filters: F): readonly [first: string, last: string];
}

export const DAY_RANGE_REFUSED = 'Must not be after the To date.';

/**
 * Why a range of days cannot be applied, or null: one that ends before it starts holds nothing, a
 * mistake (swapped days) to name, as the audit log does, not an empty list that reads as "nothing
 * happened". One day (first = last) is a range; an empty bound is none.
 */
export function dayRangeRefusal(first: string, last: string): string | null {
  return first && last && first > last ? DAY_RANGE_REFUSED : null;
}

export function useDraftFilters<F extends object>(
  initial: F,
  dayRange?: DayRangeRule<F>,
): DraftFilters<F> {
  const [draft, setDraft] = useState<F>(initial);
  const [applied, apply] = useState<F>(initial);
  const [errors, setErrors] = useState<Partial<Record<keyof F, string>>>({});
  const set = <K extends keyof F>(key: K, value: F[K]) => setDraft((d) => ({ ...d, [key]: value }));
  // A form control's value is a string: the filter's type (a status, '') is the form's to keep.
  const field = <K extends keyof F>(key: K) => ({
    value: draft[key],
    onChange: (e: InputChange) => set(key, e.target.value as F[K]),
  });
  const submit = (tidy: (d: F) => F = (d) => d): keyof F | null => {
    const next = tidy(draft);
    const refusal = dayRange ? dayRangeRefusal(...dayRange.days(next)) : null;
    if (dayRange && refusal) {
      setErrors({ [dayRange.field]: refusal } as Partial<Record<keyof F, string>>);
      return dayRange.field;
    }
    setErrors({});
    apply(next);
    return null;
  };
  const clear = () => {
    setDraft(initial);
    apply(initial);
    setErrors({});
  };
  const filtered = JSON.stringify(applied) !== JSON.stringify(initial);
  return { draft, applied, set, field, apply, submit, errors, clear, filtered };
}

/**
 * A filter form's submit: applies the draft (`tidy` first) or, when a filter is refused, moves the
 * focus to that field (the form control named like its key), whose error then says why.
 */
export function submitFilters<F>(
  e: FormEvent<HTMLFormElement>,
  filters: Pick<DraftFilters<F>, 'submit'>,
  tidy?: (draft: F) => F,
): void {
  e.preventDefault();
  const refused = filters.submit(tidy);
  const control = refused === null ? null : e.currentTarget.elements.namedItem(String(refused));
  if (control instanceof HTMLElement) control.focus();
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

export function useFilteredList<F extends LogFilters<string>, T>(
  initial: F,
  fetchPage: (filters: F, cursor: string | undefined) => Promise<Page<T>>,
): FilteredList<F, T> {
  const toast = useToast();
  const filters = useDraftFilters<F>(initial, LOG_DAY_RANGE);
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

/** A log's days: "From date" (`since`) and "To date" (`until`). */
const LOG_DAY_RANGE: DayRangeRule<LogFilters<string>> = {
  field: 'since',
  days: (f) => [f.since, f.until],
};

/** A log page's query for those filters: 20 rows from `cursor`, the status, the days as ISO. */
export function logQuery<S extends string>(f: LogFilters<S>, cursor: string | undefined) {
  return { limit: 20, cursor, status: f.status || undefined, ...dayRange(f.since, f.until) };
}
