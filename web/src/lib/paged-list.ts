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

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

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
  const [items, setItems] = useState<T[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [generation, setGeneration] = useState(0);
  const current = useRef(fetchPage);

  useEffect(() => {
    // `generation` only forces a new first page (reload).
    void generation;
    current.current = fetchPage;
    let live = true;
    setItems(null);
    setCursor(null);
    setLoadError(null);
    fetchPage(undefined).then(
      (r) => {
        if (!live) return;
        setItems(r.items);
        setCursor(r.next_cursor);
      },
      (err: unknown) => {
        if (live) setLoadError(errorMessage(err));
      },
    );
    return () => {
      live = false;
    };
  }, [fetchPage, generation]);

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const fetcher = fetchPage;
    setLoadingMore(true);
    try {
      const r = await fetcher(cursor);
      if (current.current !== fetcher) return;
      setItems((all) => [...(all ?? []), ...r.items]);
      setCursor(r.next_cursor);
    } catch (err) {
      if (current.current === fetcher) onMoreError(errorMessage(err));
    } finally {
      setLoadingMore(false);
    }
  }, [cursor, fetchPage, onMoreError]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  return { items, loadError, hasMore: cursor !== null, loadingMore, loadMore, reload, setItems };
}

/** The rows after a save: a created row goes first (lists are newest first), a saved one replaces its old self. */
export function withSaved<T extends { id: string }>(
  rows: T[] | null,
  row: T,
  created: boolean,
): T[] | null {
  if (created) return [row, ...(rows ?? [])];
  return rows?.map((x) => (x.id === row.id ? row : x)) ?? null;
}
