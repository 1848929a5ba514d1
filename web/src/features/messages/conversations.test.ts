import { describe, expect, it } from 'vitest';
import type { Page } from '../../lib/load.ts';
import {
  type ConversationLike,
  loadMoreConversations,
  mergeConversations,
} from './conversations.ts';

interface Row extends ConversationLike {
  label: string;
}

/** A conversation whose newest message has id `id` (ids sort as the API orders them). */
function row(counterpart: string, id: string, phone_id: string | null = 'p1'): Row {
  return { phone_id, counterpart, last_message: { id }, label: `${counterpart}@${id}` };
}

/** The API over `all` (one row per conversation): newest first, `limit` a page, cursor = id. */
function api(all: () => Row[], limit: number) {
  const calls: (string | undefined)[] = [];
  const fetchPage = async (cursor: string | undefined): Promise<Page<Row>> => {
    calls.push(cursor);
    const sorted = mergeConversations(all()).filter(
      (c) => cursor === undefined || c.last_message.id < cursor,
    );
    const items = sorted.slice(0, limit);
    return {
      items,
      next_cursor: sorted.length > limit ? items[items.length - 1]!.last_message.id : null,
    };
  };
  return { fetchPage, calls };
}

const labels = (p: Page<Row>) => p.items.map((c) => c.label);

describe('mergeConversations', () => {
  it('keeps each conversation once, as of its newest message, newest first', () => {
    expect(
      mergeConversations(
        [row('+1', '05'), row('+2', '04')],
        [row('+2', '09'), row('+2', '04', null)],
      ).map((c) => c.label),
    ).toEqual(['+2@09', '+1@05', '+2@04']);
  });
});

describe('loadMoreConversations', () => {
  it('reaches a conversation that moved above the cursor since the first page', async () => {
    let rows = ['10', '09', '08', '07', '06'].map((id, i) => row(`+${i}`, id));
    const { fetchPage } = api(() => rows, 2);
    const first = await fetchPage(undefined);
    expect(labels(first)).toEqual(['+0@10', '+1@09']);
    // +3 (on the second page) receives a text: it is the newest now.
    rows = [...rows, row('+3', '11')];
    const second = await loadMoreConversations(fetchPage, first);
    // The page after the cursor no longer holds +3; it is listed once, where it is now.
    expect(labels(second)).toEqual(['+3@11', '+0@10', '+1@09', '+2@08', '+4@06']);
    expect(second.next_cursor).toBeNull();
  });

  it('updates a shown conversation that received a text, and adds new ones', async () => {
    let rows = ['10', '09', '08', '07'].map((id, i) => row(`+${i}`, id));
    const { fetchPage } = api(() => rows, 2);
    const first = await fetchPage(undefined);
    rows = [...rows, row('+1', '11'), row('+9', '12')];
    expect(labels(await loadMoreConversations(fetchPage, first))).toEqual([
      '+9@12',
      '+1@11',
      '+0@10',
      '+2@08',
      '+3@07',
    ]);
  });

  it('with no news, asks one page from the top and the next one', async () => {
    const rows = ['10', '09', '08', '07', '06'].map((id, i) => row(`+${i}`, id));
    const { fetchPage, calls } = api(() => rows, 2);
    const first = await fetchPage(undefined);
    const second = await loadMoreConversations(fetchPage, first);
    expect(labels(second)).toEqual(['+0@10', '+1@09', '+2@08', '+3@07']);
    expect(second.next_cursor).toBe('07');
    expect(calls).toEqual([undefined, '09', undefined]);
  });

  it('past its pages of news, starts the list again from them', async () => {
    let rows = ['10', '09', '08'].map((id, i) => row(`+${i}`, id));
    const { fetchPage } = api(() => rows, 1);
    const first = await fetchPage(undefined);
    rows = [...rows, row('+7', '11'), row('+8', '12'), row('+9', '13')];
    const next = await loadMoreConversations(fetchPage, first, 2);
    expect(labels(next)).toEqual(['+9@13', '+8@12']);
    expect(next.next_cursor).toBe('12');
  });
});
