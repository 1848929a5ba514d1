// Conversations: what devices streamed over /ws and /ws_pcm, newest first, with filters, a player
// for each finished conversation (the browser fetches /api/conversations/{id}/audio with the
// session cookie; the server honours Range, so seeking works) and a confirmed delete.
import { Card, PageHeader, StatusBadge, type Tone } from '../../components/Card.tsx';
import { TextField } from '../../components/Field.tsx';
import {
  DayRangeFields,
  FilteredListBody,
  FilterForm,
  StatusFilterField,
  useDeleteRow,
} from '../../components/ListActions.tsx';
import { actionsColumn, RowActionCell, Table, td } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { type LogFilters, logQuery, NO_LOG_FILTERS, useFilteredList } from '../../lib/filters.ts';
import { formatDateTime, formatMs } from '../../lib/format.ts';

type Conversation = ResponseOf<'/api/conversations', 'get'>['items'][number];
type Status = Conversation['status'];

const STATUS: Record<Status, { label: string; tone: Tone }> = {
  recording: { label: 'Recording', tone: 'indigo' },
  complete: { label: 'Complete', tone: 'green' },
  interrupted: { label: 'Interrupted', tone: 'amber' },
  failed: { label: 'Failed', tone: 'red' },
};

interface Filters extends LogFilters<Status> {
  client_id: string;
}
const NO_FILTERS: Filters = { ...NO_LOG_FILTERS, client_id: '' };

/** A page of the list under the filters: local days become an ISO range. */
const fetchConversations = (f: Filters, cursor: string | undefined) =>
  api.get('/api/conversations', {
    query: { ...logQuery(f, cursor), client_id: f.client_id.trim() || undefined },
  });

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
  const log = useFilteredList(NO_FILTERS, fetchConversations);
  const deleteRow = useDeleteRow<Conversation>({
    remove: (c) => api.delete('/api/conversations/{id}', { params: { id: c.id } }),
    setItems: log.list.setItems,
    title: (c) => `Delete the conversation from ${label(c)}?`,
    confirmLabel: 'Delete conversation',
    deleted: () => 'Conversation deleted.',
    warning: 'Its recording is removed from the server. This cannot be undone.',
  });

  return (
    <>
      <PageHeader
        title="Conversations"
        description="Audio your devices streamed, one conversation per recording. Members see their own; managers, admins and owners everyone's."
      />
      <Card title="Recordings" description="Newest first.">
        <FilterForm
          label="Filter conversations"
          filters={log.filters}
          tidy={(d) => ({ ...d, client_id: d.client_id.trim() })}
        >
          <TextField
            label="Device (client id)"
            className="w-56"
            name="client_id"
            type="search"
            maxLength={64}
            placeholder="a1b2c3-pendant"
            {...log.filters.field('client_id')}
          />
          <StatusFilterField statuses={STATUS} filters={log.filters} className="w-40" />
          <DayRangeFields filters={log.filters} />
        </FilterForm>
        <FilteredListBody
          log={log}
          noun="conversations"
          emptyHint="Recordings streamed by your devices appear here."
        >
          {(items) => (
            <Table
              caption="Conversations"
              columns={['Started', 'Device', 'Duration', 'Status', 'Recording', actionsColumn]}
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
                    <StatusBadge status={c.status} statuses={STATUS} />
                  </td>
                  <td className={td}>
                    <Player c={c} />
                  </td>
                  <RowActionCell
                    label="Delete"
                    name={`Delete conversation from ${label(c)}`}
                    onClick={() => deleteRow.ask(c)}
                  />
                </tr>
              ))}
            </Table>
          )}
        </FilteredListBody>
      </Card>
      {deleteRow.dialog}
    </>
  );
}
