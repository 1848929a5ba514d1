// The pages of the Messages page's conversation list.
//
// Conversations are ordered by their newest message, and "Load more" asks for those older than
// the oldest shown (the cursor). A conversation further down that receives a text meanwhile moves
// to the top, above the cursor: "Load more" alone never reached it, and the list lacked it until
// reloaded. So each "Load more" also fetches, from the top, the conversations with a message newer
// than the newest shown, and merges them in by conversation (phone and number): a moved one is
// listed once, where it is now, with its new last message and count.
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../lib/api.ts';
import { type Page, useLoad } from '../../lib/load.ts';

/** What the list needs of a conversation (the API's Conversation). */
export interface ConversationLike {
  phone_id: string | null;
  counterpart: string;
  last_message: { id: string };
}

/** At most this many pages of news per "Load more"; past them the list starts again from them. */
export const MAX_NEWS_PAGES = 5;

/** One conversation: its phone (none for a phone-less one) and the other party's number. */
export function conversationKey(c: Pick<ConversationLike, 'phone_id' | 'counterpart'>): string {
  return `${c.phone_id ?? ''}|${c.counterpart}`;
}

/**
 * The conversations of `lists` once each, as of its newest message, newest first (message ids are
 * time-ordered UUIDs: their text sorts as the API orders them).
 */
export function mergeConversations<T extends ConversationLike>(...lists: T[][]): T[] {
  const byKey = new Map<string, T>();
  for (const list of lists) {
    for (const c of list) {
      const key = conversationKey(c);
      const had = byKey.get(key);
      if (!had || had.last_message.id < c.last_message.id) byKey.set(key, c);
    }
  }
  return [...byKey.values()].sort((a, b) =>
    a.last_message.id === b.last_message.id ? 0 : a.last_message.id < b.last_message.id ? 1 : -1,
  );
}

/**
 * The list after "Load more": `shown`, the conversations with a message newer than the newest of
 * `shown` (read from the top, page after page, until a page reaches it), and the page after the
 * cursor. When the news fill more than `maxNewsPages` pages, the list is those pages (a current
 * start of the list, its cursor after them) and the older ones are left to the next "Load more".
 */
export async function loadMoreConversations<T extends ConversationLike>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  shown: Page<T>,
  maxNewsPages = MAX_NEWS_PAGES,
): Promise<Page<T>> {
  if (!shown.next_cursor) return shown;
  const newest = shown.items.reduce<string | null>(
    (max, c) => (max === null || c.last_message.id > max ? c.last_message.id : max),
    null,
  );
  const older = fetchPage(shown.next_cursor);
  // Awaited below, or not needed when the news replace the list: never an unhandled rejection.
  older.catch(() => undefined);
  const news: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; ; i++) {
    if (i === maxNewsPages) {
      return { items: mergeConversations(news), next_cursor: cursor ?? null };
    }
    const top = await fetchPage(cursor);
    news.push(...top.items);
    if (!top.next_cursor) {
      // The whole list, as it is now.
      return { items: mergeConversations(news), next_cursor: null };
    }
    cursor = top.next_cursor;
    if (newest === null || top.items.some((c) => c.last_message.id <= newest)) break;
  }
  const next = await older;
  const moved = news.filter((c) => newest === null || c.last_message.id > newest);
  return {
    items: mergeConversations(shown.items, moved, next.items),
    next_cursor: next.next_cursor,
  };
}

export interface ConversationPages<T> {
  items: T[] | null;
  loadError: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore(): Promise<void>;
}

/**
 * The conversation list: its first page whenever `fetchPage` changes (memoise it on the filter),
 * then "Load more" as above. Answers for an older `fetchPage` are dropped; `onMoreError` reports
 * a failed "Load more" (the rows already shown stay).
 */
export function useConversationPages<T extends ConversationLike>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  onMoreError: (message: string) => void,
): ConversationPages<T> {
  const first = useLoad(useCallback(() => fetchPage(undefined), [fetchPage]));
  const { data: page, setData: setPage } = first;
  const [loadingMore, setLoadingMore] = useState(false);
  const current = useRef(fetchPage);
  useEffect(() => {
    current.current = fetchPage;
  }, [fetchPage]);

  const loadMore = useCallback(async () => {
    if (!page?.next_cursor) return;
    const fetcher = fetchPage;
    setLoadingMore(true);
    try {
      const next = await loadMoreConversations(fetcher, page);
      if (current.current === fetcher) setPage(next);
    } catch (err) {
      if (current.current === fetcher) onMoreError(errorMessage(err));
    } finally {
      setLoadingMore(false);
    }
  }, [page, fetchPage, onMoreError, setPage]);

  return {
    items: page?.items ?? null,
    loadError: first.error,
    hasMore: Boolean(page?.next_cursor),
    loadingMore,
    loadMore,
  };
}
