// Conversations: what devices streamed over /ws and /ws_pcm, newest first, with filters, a player
// for each finished conversation (the browser fetches /api/conversations/{id}/audio with the
// session cookie; the server honours Range, so seeking works) and a confirmed delete.
import { type FormEvent, useCallback } from 'react';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { ListBody, LoadMore, useDeleteRow } from '../../components/ListActions.tsx';
import { Table, td, th } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { useDraftFilters } from '../../lib/filters.ts';
import { formatDateTime } from '../../lib/format.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useToast } from '../../lib/toast.tsx';

type Conversation = ResponseOf<'/api/conversations', 'get'>['items'][number];
type Status = Conversation['status'];

const PAGE = 20;

const STATUS: Record<
  Status,
  { label: string; tone: 'gray' | 'indigo' | 'green' | 'amber' | 'red' }
> = {
  recording: { label: 'Recording', tone: 'indigo' },
  complete: { label: 'Complete', tone: 'green' },
  interrupted: { label: 'Interrupted', tone: 'amber' },
  failed: { label: 'Failed', tone: 'red' },
};
const STATUSES = Object.keys(STATUS) as Status[];

interface Filters {
  client_id: string;
  status: Status | '';
  since: string; // yyyy-mm-dd, local
  until: string; // yyyy-mm-dd, local, inclusive
}
const NO_FILTERS: Filters = { client_id: '', status: '', since: '', until: '' };

/** The API query: local days become an ISO range [since 00:00, until+1 00:00). */
function filterQuery(f: Filters) {
  const day = (value: string, plusDays = 0) => {
    if (!value) return undefined;
    const [y, m, d] = value.split('-').map(Number);
    const at = new Date(y ?? 0, (m ?? 1) - 1, (d ?? 1) + plusDays);
    return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
  };
  return {
    client_id: f.client_id.trim() || undefined,
    status: f.status || undefined,
    since: day(f.since),
    until: day(f.until, 1),
  };
}

/** 83500 ms → "1:23". */
function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function label(c: Conversation): string {
  return `${c.device_name}, ${formatDateTime(c.started_at)}`;
}

function Player({ c }: { c: Conversation }) {
  if (c.status === 'recording') return <span className="text-sm text-slate-500">Recording…</span>;
  if (c.status === 'failed' || c.bytes === 0) {
    return <span className="text-sm text-slate-500">No audio</span>;
  }
  return (
    // biome-ignore lint/a11y/useMediaCaption: device recordings have no captions to offer
    <audio
      controls
      preload="metadata"
      src={`/api/conversations/${encodeURIComponent(c.id)}/audio`}
      aria-label={`Play conversation from ${label(c)}`}
      className="h-9 w-64 max-w-full"
    />
  );
}

export function ConversationsPage() {
  const toast = useToast();
  const { draft, applied: filters, set, apply, clear } = useDraftFilters<Filters>(NO_FILTERS);
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const list = usePagedList(
    useCallback(
      (cursor: string | undefined) =>
        api.get('/api/conversations', { query: { limit: PAGE, cursor, ...filterQuery(filters) } }),
      [filters],
    ),
    toast.error,
  );
  const deleteRow = useDeleteRow<Conversation>({
    remove: (c) => api.delete('/api/conversations/{id}', { params: { id: c.id } }),
    setItems: list.setItems,
    title: (c) => `Delete the conversation from ${label(c)}?`,
    confirmLabel: 'Delete conversation',
    deleted: () => 'Conversation deleted.',
    warning: 'Its recording is removed from the server. This cannot be undone.',
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    apply({ ...draft, client_id: draft.client_id.trim() });
  }

  return (
    <>
      <PageHeader
        title="Conversations"
        description="Audio your devices streamed, one conversation per recording. Members see their own; managers, admins and owners everyone's."
      />
      <Card title="Recordings" description="Newest first.">
        <search className="mb-5 block">
          <form
            aria-label="Filter conversations"
            className="flex flex-wrap items-end gap-3"
            onSubmit={submit}
          >
            <TextField
              label="Device (client id)"
              className="w-56"
              name="client_id"
              type="search"
              maxLength={64}
              placeholder="a1b2c3-pendant"
              value={draft.client_id}
              onChange={(e) => set('client_id', e.target.value)}
            />
            <SelectField
              label="Status"
              className="w-40"
              name="status"
              value={draft.status}
              onChange={(e) => set('status', e.target.value as Filters['status'])}
            >
              <option value="">All statuses</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {STATUS[s].label}
                </option>
              ))}
            </SelectField>
            <TextField
              label="From date"
              className="w-40"
              name="since"
              type="date"
              value={draft.since}
              onChange={(e) => set('since', e.target.value)}
            />
            <TextField
              label="To date"
              className="w-40"
              name="until"
              type="date"
              value={draft.until}
              onChange={(e) => set('until', e.target.value)}
            />
            <div className="flex gap-2">
              <Button type="submit" variant="secondary">
                Apply filters
              </Button>
              {filtered && (
                <Button variant="ghost" onClick={clear}>
                  Clear
                </Button>
              )}
            </div>
          </form>
        </search>
        <ListBody
          list={list}
          loading="Loading conversations…"
          empty={
            <EmptyState
              title={filtered ? 'No conversations match these filters' : 'No conversations yet'}
            >
              {!filtered && 'Recordings streamed by your devices appear here.'}
            </EmptyState>
          }
        >
          {(items) => (
            <Table
              caption="Conversations"
              head={
                <tr>
                  {['Started', 'Device', 'Duration', 'Status', 'Recording'].map((h) => (
                    <th key={h} scope="col" className={th}>
                      {h}
                    </th>
                  ))}
                  <th scope="col" className={th}>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              }
            >
              {items.map((c) => (
                <tr key={c.id} className="hover:bg-slate-50">
                  <td className={`${td} min-w-32 text-slate-700`}>
                    <time dateTime={c.started_at}>{formatDateTime(c.started_at)}</time>
                  </td>
                  <td className={td}>
                    <div className="font-medium text-slate-900">{c.device_name}</div>
                    <div className="font-mono text-xs text-slate-500">{c.client_id}</div>
                  </td>
                  <td className={`${td} whitespace-nowrap tabular-nums text-slate-700`}>
                    {formatMs(c.duration_ms)}
                  </td>
                  <td className={td}>
                    <Badge tone={STATUS[c.status]?.tone ?? 'gray'}>
                      {STATUS[c.status]?.label ?? c.status}
                    </Badge>
                  </td>
                  <td className={td}>
                    <Player c={c} />
                  </td>
                  <td className={`${td} text-right`}>
                    <Button
                      variant="ghost"
                      size="sm"
                      onClick={() => deleteRow.ask(c)}
                      aria-label={`Delete conversation from ${label(c)}`}
                    >
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ListBody>
        <LoadMore list={list} />
      </Card>
      {deleteRow.dialog}
    </>
  );
}
