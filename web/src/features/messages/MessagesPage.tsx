// Messages: conversations (messages grouped by phone and counterpart, newest first) on the left,
// the selected one's thread on the right, oldest to newest like a chat. The selection lives in
// the URL so it can be linked and reloaded: ?with=<number>&via=<phone id> is a conversation (one
// number texting two of the org's phones is two conversations), via=none the number's texts
// logged without a phone (phone_id null: a conversation of its own); without via, a link opens
// all its texts (no row is that thread). ?phone=<id> is the phone filter of the list.
import { useCallback, useEffect, useRef } from 'react';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { SelectField } from '../../components/Field.tsx';
import { ListBody, LoadMore } from '../../components/ListActions.tsx';
import { ScrollRegion } from '../../components/ScrollRegion.tsx';
import { api } from '../../lib/api.ts';
import { formatDateTime, timeAgo } from '../../lib/format.ts';
import { useLoad } from '../../lib/load.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { Link, useNavigate, useSearchParam } from '../../lib/router.tsx';
import { useToast } from '../../lib/toast.tsx';
import { allPhones, type PhoneOption, phoneText } from '../voice-shared/voice-lookups.ts';
import { useConversationPages } from './conversations.ts';

type Phone = PhoneOption;

const CONVERSATIONS_PAGE = 20;
const THREAD_PAGE = 50;
/** `via` of a phone-less conversation. */
const NO_PHONE = 'none';

/**
 * A thread's phone: a phone's id, null for the texts logged without a phone, undefined for every
 * text with the number.
 */
type ThreadPhone = string | null | undefined;

function pageUrl(params: {
  with?: string | null;
  via?: string | null;
  phone?: string | null;
}): string {
  const q = new URLSearchParams();
  if (params.with) q.set('with', params.with);
  if (params.with && params.via) q.set('via', params.via);
  if (params.phone) q.set('phone', params.phone);
  const s = q.toString();
  return `/app/messages${s ? `?${s}` : ''}`;
}

function phoneLabel(phones: Phone[], id: string | null): string | null {
  if (!id) return null;
  const p = phones.find((x) => x.id === id);
  return p ? phoneText(p) : null;
}

function ConversationList({
  phoneId,
  selected,
  phones,
}: {
  phoneId: string | null;
  /** The open thread: its number, and its phone (see ThreadPhone). */
  selected: { with: string; phone: ThreadPhone } | null;
  phones: Phone[];
}) {
  const toast = useToast();

  const list = useConversationPages(
    useCallback(
      (cursor: string | undefined) =>
        api.get('/api/messages/conversations', {
          query: { limit: CONVERSATIONS_PAGE, cursor, phone_id: phoneId ?? undefined },
        }),
      [phoneId],
    ),
    toast.error,
  );

  return (
    <Card id="conversations" title="Conversations">
      <ListBody
        list={list}
        loading="Loading conversations…"
        empty={
          <EmptyState title="No messages yet">
            {phoneId
              ? 'No texts to or from this phone yet.'
              : 'Text messages to and from your phones appear here.'}
          </EmptyState>
        }
      >
        {(items) => (
          <ul aria-label="Conversations" className="-mx-4 -my-5 divide-y divide-slate-100 sm:-mx-6">
            {items.map((c) => {
              // The row of the open thread is current: a phone-less conversation's row when it is
              // open (via=none), no row for every text with a number (no conversation is that).
              const current =
                c.counterpart === selected?.with &&
                selected.phone !== undefined &&
                (c.phone_id ?? null) === selected.phone;
              const via = phoneLabel(phones, c.phone_id);
              const preview = `${c.last_message.direction === 'outbound' ? 'You: ' : ''}${
                c.last_message.body || (c.last_message.num_media > 0 ? 'Attachment' : '(empty)')
              }`;
              return (
                <li key={`${c.phone_id ?? ''}|${c.counterpart}`}>
                  <Link
                    to={pageUrl({
                      with: c.counterpart,
                      via: c.phone_id ?? NO_PHONE,
                      phone: phoneId,
                    })}
                    aria-current={current ? 'page' : undefined}
                    className={`block px-4 py-3 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-600 sm:px-6 ${
                      current ? 'bg-indigo-50' : 'hover:bg-slate-50'
                    }`}
                  >
                    <span className="flex items-baseline justify-between gap-2">
                      <span className="truncate font-medium text-slate-900">{c.counterpart}</span>
                      <time
                        dateTime={c.last_message.created_at}
                        title={formatDateTime(c.last_message.created_at)}
                        className={`shrink-0 text-xs ${current ? 'text-slate-600' : 'text-slate-500'}`}
                      >
                        {timeAgo(c.last_message.created_at)}
                      </time>
                    </span>
                    <span className="mt-0.5 flex items-center justify-between gap-2">
                      <span className="truncate text-sm text-slate-600">{preview}</span>
                      <Badge tone={current ? 'indigo' : 'gray'}>
                        {c.message_count}
                        <span className="sr-only">
                          {c.message_count === 1 ? ' message' : ' messages'}
                        </span>
                      </Badge>
                    </span>
                    {via && !phoneId && (
                      <span
                        className={`mt-0.5 block truncate text-xs ${current ? 'text-slate-600' : 'text-slate-500'}`}
                      >
                        via {via}
                      </span>
                    )}
                  </Link>
                </li>
              );
            })}
          </ul>
        )}
      </ListBody>
      <LoadMore list={list} className="mt-8" end="That is every conversation." />
    </Card>
  );
}

function Thread({
  counterpart,
  phoneId,
  phones,
}: {
  counterpart: string;
  phoneId: ThreadPhone;
  phones: Phone[];
}) {
  const toast = useToast();
  const scroller = useRef<HTMLElement>(null);
  const stickToBottom = useRef(true);
  // Newest first, as the API pages them; shown reversed.
  const list = usePagedList(
    useCallback(
      // A phone-less conversation's texts are the number's texts logged without a phone.
      (cursor: string | undefined) =>
        api.get('/api/messages', {
          query: {
            limit: THREAD_PAGE,
            cursor,
            counterpart,
            ...(phoneId === null ? { phoneless: true } : { phone_id: phoneId }),
          },
        }),
      [counterpart, phoneId],
    ),
    toast.error,
  );
  const { items } = list;

  // The newest message is at the bottom: start there (but not after loading older ones).
  useEffect(() => {
    const el = scroller.current;
    if (el && items && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [items]);

  async function loadOlder() {
    stickToBottom.current = false;
    await list.loadMore();
  }

  const ours = new Set(
    (items ?? []).map(
      (m) => phoneLabel(phones, m.phone_id) ?? (m.direction === 'inbound' ? m.to : m.from),
    ),
  );
  const chronological = items ? [...items].reverse() : [];

  return (
    <Card
      id="thread"
      title={`Conversation with ${counterpart}`}
      description={ours.size > 0 ? `Your number: ${[...ours].join(', ')}` : undefined}
    >
      <ListBody
        list={list}
        loading="Loading messages…"
        empty={
          <EmptyState title={`No messages with ${counterpart}`}>
            {phoneId
              ? 'None through the selected phone.'
              : phoneId === null
                ? 'None without a phone.'
                : null}
          </EmptyState>
        }
      >
        {(_items) => (
          <ScrollRegion
            ref={scroller}
            label={`Message thread with ${counterpart}`}
            className="-mx-2 max-h-[65vh] overflow-y-auto px-2"
          >
            <LoadMore
              list={{ ...list, loadMore: loadOlder }}
              label="Load older messages"
              end="The conversation starts here."
              size="sm"
              className="mb-4"
            />
            <ol aria-label={`Messages with ${counterpart}`} className="space-y-3">
              {chronological.map((m) => {
                const outbound = m.direction === 'outbound';
                return (
                  <li key={m.id} className={`flex ${outbound ? 'justify-end' : 'justify-start'}`}>
                    <div className={`max-w-[80%] ${outbound ? 'text-right' : 'text-left'}`}>
                      <span className="sr-only">{outbound ? 'Sent: ' : 'Received: '}</span>
                      <p
                        className={`inline-block rounded-2xl px-3.5 py-2 text-left text-sm whitespace-pre-wrap break-words ${
                          outbound
                            ? 'rounded-br-sm bg-indigo-600 text-white'
                            : 'rounded-bl-sm bg-slate-100 text-slate-900'
                        }`}
                      >
                        {m.body ||
                          (m.num_media > 0 ? (
                            ''
                          ) : (
                            <span className="italic opacity-75">(empty)</span>
                          ))}
                        {m.num_media > 0 && (
                          <span className="block text-xs italic opacity-80">
                            {m.num_media === 1 ? '1 attachment' : `${m.num_media} attachments`}
                          </span>
                        )}
                      </p>
                      <p className="mt-0.5 text-xs text-slate-500">
                        <time dateTime={m.created_at}>{formatDateTime(m.created_at)}</time>
                        {m.status && ` · ${m.status}`}
                      </p>
                    </div>
                  </li>
                );
              })}
            </ol>
          </ScrollRegion>
        )}
      </ListBody>
    </Card>
  );
}

export function MessagesPage() {
  const selected = useSearchParam('with');
  const via = useSearchParam('via');
  const phoneId = useSearchParam('phone');
  // The thread's phone: the conversation's own (none for a phone-less one), else the list's
  // filter, else every phone's texts with the number.
  const threadPhone: ThreadPhone = via === NO_PHONE ? null : (via ?? phoneId ?? undefined);
  const navigate = useNavigate();
  const phones = useLoad(allPhones).data ?? [];

  return (
    <>
      <PageHeader
        title="Messages"
        description="Text messages to and from your phones, grouped by the other party."
        actions={
          phones.length > 1 || phoneId ? (
            <SelectField
              label="Phone"
              name="phone"
              value={phoneId ?? ''}
              onChange={(e) =>
                navigate(
                  pageUrl({
                    with: selected,
                    via: e.target.value || via,
                    phone: e.target.value || null,
                  }),
                )
              }
              className="w-64"
            >
              <option value="">All phones</option>
              {phones.map((p) => (
                <option key={p.id} value={p.id}>
                  {phoneText(p)}
                </option>
              ))}
            </SelectField>
          ) : undefined
        }
      />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-5">
        <div className="lg:col-span-2">
          <ConversationList
            phoneId={phoneId}
            selected={selected ? { with: selected, phone: threadPhone } : null}
            phones={phones}
          />
        </div>
        <div className="lg:col-span-3">
          {selected ? (
            <Thread
              key={`${selected}|${threadPhone === undefined ? '' : (threadPhone ?? NO_PHONE)}`}
              counterpart={selected}
              phoneId={threadPhone}
              phones={phones}
            />
          ) : (
            <Card id="thread">
              <EmptyState title="No conversation selected">
                Choose a conversation to read its messages.
              </EmptyState>
            </Card>
          )}
        </div>
      </div>
    </>
  );
}
