// A cursor-paged list (every list endpoint answers { items, next_cursor }): the first page whenever
// the fetcher changes — memoise it on the filters — and more on demand.
import {
  type Dispatch,
  type SetStateAction,
  useCallback,
  useEffect,
  useRef,
  useState,
} from 'react';
import { errorMessage } from './api.ts';
import { type Page, useLoad } from './load.ts';
import { useToast } from './toast.tsx';

export type { Page } from './load.ts';

export interface PagedList<T> {
  /** null while the first page loads (or failed). */
  items: T[] | null;
  loadError: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore(): Promise<void>;
  /** Fetch the first page again (e.g. after a change made elsewhere). */
  reload(): void;
  /** Edit the loaded rows in place (a created, saved or deleted row). */
  setItems: Dispatch<SetStateAction<T[] | null>>;
}

/**
 * Answers for an older fetcher are dropped: after a quick change of filters the list never shows
 * the previous filter's rows, nor appends a page of them. `onMoreError` reports a failed "load
 * more" (the rows already shown stay).
 */
export function usePagedList<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  onMoreError: (message: string) => void,
): PagedList<T> {
  const first = useLoad(useCallback(() => fetchPage(undefined), [fetchPage]));
  const { data: page, setData: setPage, reload } = first;
  const [loadingMore, setLoadingMore] = useState(false);
  const current = useRef(fetchPage);
  useEffect(() => {
    current.current = fetchPage;
  }, [fetchPage]);
  const cursor = page?.next_cursor ?? null;

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const fetcher = fetchPage;
    setLoadingMore(true);
    try {
      const r = await fetcher(cursor);
      if (current.current !== fetcher) return;
      setPage((p) => ({ items: [...(p?.items ?? []), ...r.items], next_cursor: r.next_cursor }));
    } catch (err) {
      if (current.current === fetcher) onMoreError(errorMessage(err));
    } finally {
      setLoadingMore(false);
    }
  }, [cursor, fetchPage, onMoreError, setPage]);

  const setItems: Dispatch<SetStateAction<T[] | null>> = useCallback(
    (action) =>
      setPage((p) => {
        const items = typeof action === 'function' ? action(p?.items ?? null) : action;
        return items === null ? null : { items, next_cursor: p?.next_cursor ?? null };
      }),
    [setPage],
  );

  return {
    items: page?.items ?? null,
    loadError: first.error,
    hasMore: cursor !== null,
    loadingMore,
    loadMore,
    reload: () => void reload(),
    setItems,
  };
}

/**
 * The rows after a save: a created row goes first (lists are newest first), a saved one replaces
 * its old self. `shown` is whether the row belongs in the list as filtered (e.g. a status filter
 * it matches): a created row that does not is left out, a saved one that no longer does leaves.
 */
export function withSaved<T extends { id: string }>(
  rows: T[] | null,
  row: T,
  created: boolean,
  shown = true,
): T[] | null {
  if (!shown) return created ? rows : (rows?.filter((x) => x.id !== row.id) ?? null);
  if (created) return [row, ...(rows ?? [])];
  return rows?.map((x) => (x.id === row.id ? row : x)) ?? null;
}

/** What a list page's create-or-edit dialog is open for: a new row, or the row edited. */
export type Editing<T> = { mode: 'create' } | { mode: 'edit'; row: T };

/**
 * A list page's create/edit dialog: `editing` (null while closed), `create()` and `edit(row)` to
 * open it, and `saved`, the dialog's onSaved, which closes it, says what happened and puts the row
 * in the list without a reload.
 */
export function useEditDialog<T extends { id: string }>(
  setItems: PagedList<T>['setItems'],
  said: (row: T, created: boolean) => string,
) {
  const toast = useToast();
  const [editing, setEditing] = useState<Editing<T> | null>(null);
  const create = useCallback(() => setEditing({ mode: 'create' }), []);
  const edit = useCallback((row: T) => setEditing({ mode: 'edit', row }), []);
  const close = useCallback(() => setEditing(null), []);
  function saved(row: T, created: boolean) {
    setEditing(null);
    toast.success(said(row, created));
    setItems((all) => withSaved(all, row, created));
  }
  return { editing, create, edit, close, saved };
}
