// The one way a page loads what it shows: `useLoad` runs a fetcher when the page (or the fetcher)
// appears, `allPages` walks a cursor list to its end for lookups (names, choices), and
// `usePagedList` (paged-list.ts) is built on `useLoad`. Only the answer of the latest request is
// ever applied: a slow answer for an earlier fetcher (a changed filter, another call's id) or one
// arriving after the page has gone never overwrites what the page shows now.
import {
  type Dispatch,
  type SetStateAction,
  useCallback,
  useEffect,
  useRef,
  useState,
} from 'react';
import { errorMessage } from './api.ts';

export interface Loaded<T> {
  /** null while the first answer is awaited (or when it failed). */
  data: T | null;
  error: string | null;
  /** The latest request's failure as thrown (an ApiError's field errors, say), null otherwise. */
  failure: unknown;
  /** When the latest answer arrived (ms since the epoch), null before the first. */
  loadedAt: number | null;
  /** Fetch again, keeping what is shown until the answer (e.g. after a write); clears the error. */
  reload(): Promise<void>;
  /** Edit the loaded value in place (a created, saved or deleted row). */
  setData: Dispatch<SetStateAction<T | null>>;
}

/**
 * Loads `load` (memoise it on what it depends on) whenever it changes, starting from nothing.
 * With `everyMs` it fetches again at that interval: a failed refresh keeps the last answer and
 * sets `error`. The signal aborts a request that a newer one or the page's end supersedes.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  options: { everyMs?: number } = {},
): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [loadedAt, setLoadedAt] = useState<number | null>(null);
  const latest = useRef<{ controller: AbortController; load: typeof load } | null>(null);
  const { everyMs } = options;

  const run = useCallback(async (fetcher: typeof load): Promise<void> => {
    latest.current?.controller.abort();
    const mine = { controller: new AbortController(), load: fetcher };
    latest.current = mine;
    try {
      const value = await fetcher(mine.controller.signal);
      if (latest.current !== mine) return;
      setData(value);
      setError(null);
      setFailure(null);
      setLoadedAt(Date.now());
    } catch (err) {
      if (latest.current !== mine) return;
      setError(errorMessage(err));
      setFailure(err);
    }
  }, []);

  useEffect(() => {
    setData(null);
    setError(null);
    setFailure(null);
    void run(load);
    const timer = everyMs ? window.setInterval(() => void run(load), everyMs) : undefined;
    return () => {
      window.clearInterval(timer);
      latest.current?.controller.abort();
      latest.current = null;
    };
  }, [load, everyMs, run]);

  const reload = useCallback(async () => {
    const current = latest.current;
    if (!current) return;
    setError(null);
    setFailure(null);
    await run(current.load);
  }, [run]);

  return { data, error, failure, loadedAt, reload, setData };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Every row of a cursor list, page after page; at most `maxPages` pages to stay cheap. */
export async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  maxPages = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const r = await fetchPage(cursor);
    all.push(...r.items);
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return all;
}
