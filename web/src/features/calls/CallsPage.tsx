// Calls: the calls in progress (refreshed every few seconds), the call log with filters and
// cursor "Load more", and one call's details in a dialog addressed by ?call=<CallSid>.
import { type ReactNode, useCallback } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card, PageHeader, StatusBadge, type Tone } from '../../components/Card.tsx';
import { Dialog } from '../../components/Dialog.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import {
  DayRangeFields,
  FilteredListBody,
  FilterForm,
  StatusFilterField,
} from '../../components/ListActions.tsx';
import { RefreshedBody } from '../../components/RefreshedBody.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { DateTimeText, Table, td as tdBase, th as thBase } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { type LogFilters, logQuery, NO_LOG_FILTERS, useFilteredList } from '../../lib/filters.ts';
import { formatDateTime, formatDuration, timeAgo } from '../../lib/format.ts';
import { useLoad } from '../../lib/load.ts';
import { Link, useLocation, useNavigate, useSearchParam } from '../../lib/router.tsx';
import { allAgents, allPhones, phoneText } from '../voice-shared/voice-lookups.ts';

type Call = ResponseOf<'/api/calls', 'get'>['items'][number];
type CallStatus = Call['status'];
type Direction = Call['direction'];

// Eight columns: a little less padding than the default keeps them within a laptop screen.
const th = thBase.replace('px-4', 'px-3');
const td = tdBase.replace('px-4', 'px-3');
const CALL_COLUMNS = ['From', 'To', 'Direction', 'Status', 'Started', 'Duration', 'Agent'];
const ACTIVE_REFRESH_MS = 10_000;

const STATUS: Record<CallStatus, { label: string; tone: Tone }> = {
  queued: { label: 'Queued', tone: 'gray' },
  initiated: { label: 'Initiated', tone: 'indigo' },
  ringing: { label: 'Ringing', tone: 'amber' },
  'in-progress': { label: 'In progress', tone: 'indigo' },
  completed: { label: 'Completed', tone: 'green' },
  busy: { label: 'Busy', tone: 'amber' },
  failed: { label: 'Failed', tone: 'red' },
  'no-answer': { label: 'No answer', tone: 'amber' },
  canceled: { label: 'Canceled', tone: 'gray' },
};
const DIRECTION: Record<Direction, string> = { inbound: 'Inbound', outbound: 'Outbound' };

interface Filters extends LogFilters<CallStatus> {
  direction: Direction | '';
  number: string;
}
const NO_FILTERS: Filters = { ...NO_LOG_FILTERS, direction: '', number: '' };

/** A page of the call log under the filters: local days become an ISO range. */
const fetchCalls = (f: Filters, cursor: string | undefined) =>
  api.get('/api/calls', {
    query: {
      ...logQuery(f, cursor),
      direction: f.direction || undefined,
      number: f.number.trim() || undefined,
    },
  });

function useNames() {
  // Names are a nicety: a failure leaves ids unnamed rather than breaking the page.
  const agents = useLoad(allAgents).data ?? [];
  const phones = useLoad(allPhones).data ?? [];
  const agentName = (id: string | null) =>
    id ? (agents.find((a) => a.id === id)?.name ?? 'Unknown agent') : null;
  const phoneName = (id: string | null) => {
    if (!id) return null;
    const p = phones.find((x) => x.id === id);
    return p ? phoneText(p) : 'Unknown phone';
  };
  return { agentName, phoneName };
}

function CallStatusBadge({ status }: { status: CallStatus }) {
  return <StatusBadge status={status} statuses={STATUS} />;
}

function callHref(sid: string) {
  return `/app/calls?call=${encodeURIComponent(sid)}`;
}

function CallsTable({
  caption,
  calls,
  agentName,
}: {
  caption: string;
  calls: Call[];
  agentName: (id: string | null) => string | null;
}) {
  return (
    <Table
      caption={caption}
      head={
        <tr>
          {CALL_COLUMNS.map((label) => (
            <th key={label} scope="col" className={th}>
              {label}
            </th>
          ))}
          <th scope="col" className={th}>
            <span className="sr-only">Details</span>
          </th>
        </tr>
      }
    >
      {calls.map((c) => (
        <tr key={c.id} className="hover:bg-slate-50">
          <td className={`${td} whitespace-nowrap font-medium text-slate-900`}>{c.from}</td>
          <td className={`${td} whitespace-nowrap text-slate-700`}>{c.to}</td>
          <td className={`${td} text-slate-700`}>{DIRECTION[c.direction] ?? c.direction}</td>
          <td className={td}>
            <CallStatusBadge status={c.status} />
          </td>
          <td className={`${td} min-w-32 text-slate-700`}>
            <time dateTime={c.started_at}>{formatDateTime(c.started_at)}</time>
          </td>
          <td className={`${td} whitespace-nowrap tabular-nums text-slate-700`}>
            {formatDuration(c.duration_seconds)}
          </td>
          <td className={`${td} text-slate-700`}>{agentName(c.agent_id) ?? '—'}</td>
          <td className={`${td} text-right`}>
            <Link
              to={callHref(c.call_sid)}
              aria-label={`Details of call ${c.call_sid}`}
              className="rounded-sm text-sm font-semibold text-indigo-600 hover:text-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
            >
              Details
            </Link>
          </td>
        </tr>
      ))}
    </Table>
  );
}

const loadActiveCalls = async (signal: AbortSignal) =>
  (await api.get('/api/calls/active', { query: { limit: 100 }, signal })).items;

function ActiveCalls({ agentName }: { agentName: (id: string | null) => string | null }) {
  const active = useLoad(loadActiveCalls, { everyMs: ACTIVE_REFRESH_MS });
  const { loadedAt } = active;
  const updatedAt = loadedAt === null ? null : new Date(loadedAt).toISOString();

  return (
    <Card
      id="active-calls"
      title="Active calls"
      description={
        updatedAt
          ? `Calls in progress right now. Refreshed every 10 seconds; last update ${new Date(updatedAt).toLocaleTimeString()}.`
          : 'Calls in progress right now. Refreshed every 10 seconds.'
      }
    >
      <RefreshedBody loaded={active} loading="Loading active calls…">
        {(calls) =>
          calls.length === 0 ? (
            <p className="text-sm text-slate-500">No calls in progress.</p>
          ) : (
            <CallsTable caption="Active calls" calls={calls} agentName={agentName} />
          )
        }
      </RefreshedBody>
    </Card>
  );
}

function CallLog({ agentName }: { agentName: (id: string | null) => string | null }) {
  const log = useFilteredList(NO_FILTERS, fetchCalls);

  return (
    <Card id="call-log" title="Call log" description="Every call, newest first.">
      <FilterForm
        label="Filter calls"
        filters={log.filters}
        tidy={(d) => ({ ...d, number: d.number.trim() })}
      >
        <StatusFilterField statuses={STATUS} filters={log.filters} className="w-40" />
        <SelectField
          label="Direction"
          className="w-40"
          name="direction"
          {...log.filters.field('direction')}
        >
          <option value="">Both directions</option>
          <option value="inbound">Inbound</option>
          <option value="outbound">Outbound</option>
        </SelectField>
        <TextField
          label="Number"
          className="w-48"
          name="number"
          type="search"
          maxLength={64}
          placeholder="+14155550123"
          {...log.filters.field('number')}
        />
        <DayRangeFields filters={log.filters} />
      </FilterForm>
      <FilteredListBody
        log={log}
        noun="calls"
        emptyHint="Calls to and from your phones appear here."
      >
        {(items) => <CallsTable caption="Call log" calls={items} agentName={agentName} />}
      </FilteredListBody>
    </Card>
  );
}

function Detail({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-3 gap-3 py-2">
      <dt className="text-sm font-medium text-slate-500">{term}</dt>
      <dd className="col-span-2 text-sm break-words text-slate-900">{children}</dd>
    </div>
  );
}

function CallDetailDialog({
  sid,
  onClose,
  agentName,
  phoneName,
}: {
  sid: string;
  onClose: () => void;
  agentName: (id: string | null) => string | null;
  phoneName: (id: string | null) => string | null;
}) {
  const { data: call, error } = useLoad(
    useCallback(() => api.get('/api/calls/{call_sid}', { params: { call_sid: sid } }), [sid]),
  );

  return (
    <Dialog
      open
      wide
      onClose={onClose}
      title="Call details"
      description={<span className="font-mono text-xs">{sid}</span>}
      footer={
        <Button variant="secondary" onClick={onClose}>
          Close
        </Button>
      }
    >
      {error ? (
        <Alert tone="error">{error}</Alert>
      ) : !call ? (
        <Loading label="Loading the call…" />
      ) : (
        <dl aria-label="Call details" className="divide-y divide-slate-100">
          <Detail term="Call SID">
            <span className="font-mono text-xs">{call.call_sid}</span>
          </Detail>
          <Detail term="Status">
            <CallStatusBadge status={call.status} />
          </Detail>
          <Detail term="Direction">{DIRECTION[call.direction] ?? call.direction}</Detail>
          <Detail term="From">{call.from}</Detail>
          <Detail term="To">{call.to}</Detail>
          <Detail term="Started">
            <time dateTime={call.started_at}>{formatDateTime(call.started_at)}</time>{' '}
            <span className="text-slate-500">({timeAgo(call.started_at)})</span>
          </Detail>
          <Detail term="Answered">
            <DateTimeText at={call.answered_at} />
          </Detail>
          <Detail term="Ended">
            <DateTimeText at={call.ended_at} />
          </Detail>
          <Detail term="Duration">{formatDuration(call.duration_seconds)}</Detail>
          <Detail term="Agent">{agentName(call.agent_id) ?? '—'}</Detail>
          <Detail term="Phone">{phoneName(call.phone_id) ?? '—'}</Detail>
          <Detail term="Scheduled call">
            {call.scheduled_call_id ? (
              <Link
                to="/app/scheduled-calls"
                className="font-mono text-xs font-semibold text-indigo-600 hover:text-indigo-500"
              >
                {call.scheduled_call_id}
              </Link>
            ) : (
              '—'
            )}
          </Detail>
          <Detail term="ID">
            <span className="font-mono text-xs">{call.id}</span>
          </Detail>
        </dl>
      )}
    </Dialog>
  );
}

export function CallsPage() {
  const sid = useSearchParam('call');
  const { pathname, search } = useLocation();
  const navigate = useNavigate();
  const { agentName, phoneName } = useNames();

  const closeDetail = () => {
    const params = new URLSearchParams(search);
    params.delete('call');
    const rest = params.toString();
    navigate(`${pathname}${rest ? `?${rest}` : ''}`);
  };

  return (
    <>
      <PageHeader title="Calls" description="Calls in progress and the log of every call." />
      <div className="space-y-6">
        <ActiveCalls agentName={agentName} />
        <CallLog agentName={agentName} />
      </div>
      {sid && (
        <CallDetailDialog
          key={sid}
          sid={sid}
          onClose={closeDetail}
          agentName={agentName}
          phoneName={phoneName}
        />
      )}
    </>
  );
}
