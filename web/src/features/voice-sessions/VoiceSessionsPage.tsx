// Voice sessions (LiveKit): every room token issued and what became of it — joined, ended with
// its duration, expired unused or revoked — newest first, with filters (person, room, status,
// dates) and cursor "Load more". Members see their own; owners, admins and managers the org's.
import { type FormEvent, useCallback } from 'react';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { ListBody, LoadMore } from '../../components/ListActions.tsx';
import { Table, td, th } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { useDraftFilters } from '../../lib/filters.ts';
import { formatDateTime, formatDuration } from '../../lib/format.ts';
import { allPages, useLoad } from '../../lib/load.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

type VoiceSession = ResponseOf<'/api/voice-sessions', 'get'>['items'][number];
type Status = VoiceSession['status'];
type Tone = 'gray' | 'indigo' | 'green' | 'amber' | 'red';

const PAGE = 20;
const COLUMNS = ['Person', 'Room', 'Status', 'Started', 'Ended', 'Duration', 'Source'];

const STATUS: Record<Status, { label: string; tone: Tone }> = {
  issued: { label: 'Token issued', tone: 'gray' },
  active: { label: 'In the room', tone: 'indigo' },
  ended: { label: 'Ended', tone: 'green' },
  expired: { label: 'Expired unused', tone: 'amber' },
  revoked: { label: 'Revoked', tone: 'red' },
};
const STATUSES = Object.keys(STATUS) as Status[];
const END_REASON: Record<string, string> = {
  left: 'left the room',
  room_finished: 'room closed',
  expired: 'token expired',
  revoked: 'access revoked',
};
const SOURCE: Record<VoiceSession['source'], string> = {
  api: 'Token API',
  auth_token: '/auth/token',
  register: 'Sign-up',
  login: 'Log-in',
};

interface Filters {
  userId: string;
  room: string;
  status: Status | '';
  since: string; // yyyy-mm-dd, local
  until: string; // yyyy-mm-dd, local, inclusive
}
const NO_FILTERS: Filters = { userId: '', room: '', status: '', since: '', until: '' };

/** Local days become an ISO range [since 00:00, until+1 00:00). */
function filterQuery(f: Filters) {
  const day = (value: string, plusDays = 0) => {
    if (!value) return undefined;
    const [y, m, d] = value.split('-').map(Number);
    const at = new Date(y ?? 0, (m ?? 1) - 1, (d ?? 1) + plusDays);
    return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
  };
  return {
    user_id: f.userId || undefined,
    room_name: f.room.trim() || undefined,
    status: f.status || undefined,
    since: day(f.since),
    until: day(f.until, 1),
  };
}

/** The room as its org knows it: the full LiveKit name without the `<org id>__` namespace. */
function roomLabel(name: string): string {
  const at = name.indexOf('__');
  return at >= 0 ? name.slice(at + 2) : name;
}

const allMembers = () =>
  allPages((cursor) => api.get('/api/orgs/current/members', { query: { limit: 100, cursor } }));

export function VoiceSessionsPage() {
  const toast = useToast();
  const { me } = useSession();
  // Managers and up see the org's sessions (the API decides; this only picks the wording).
  const seesOrg = me?.role === 'owner' || me?.role === 'admin' || me?.role === 'manager';
  // Names are a nicety (and the person filter is for those who see the org's sessions).
  const members = useLoad(allMembers).data ?? [];
  const nameOf = (id: string) => {
    const m = members.find((x) => x.user_id === id);
    return m ? (m.full_name ?? m.email) : id === me?.id ? (me.full_name ?? me.email) : id;
  };
  const { draft, applied, set, apply: setApplied, clear } = useDraftFilters<Filters>(NO_FILTERS);
  const filtered = JSON.stringify(applied) !== JSON.stringify(NO_FILTERS);
  const list = usePagedList(
    useCallback(
      (cursor: string | undefined) =>
        api.get('/api/voice-sessions', { query: { limit: PAGE, cursor, ...filterQuery(applied) } }),
      [applied],
    ),
    toast.error,
  );

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied({ ...draft, room: draft.room.trim() });
  }

  return (
    <>
      <PageHeader
        title="Voice sessions"
        description={
          seesOrg
            ? 'Every LiveKit room token issued in your organization and what became of it.'
            : 'Your LiveKit room tokens and what became of them.'
        }
      />
      <Card id="voice-session-log">
        <search className="mb-5 block">
          <form
            aria-label="Filter voice sessions"
            className="flex flex-wrap items-end gap-3"
            onSubmit={apply}
          >
            {seesOrg && (
              <SelectField
                label="Person"
                className="w-52"
                name="user_id"
                value={draft.userId}
                onChange={(e) => set('userId', e.target.value)}
              >
                <option value="">Everyone</option>
                {members.map((m) => (
                  <option key={m.user_id} value={m.user_id}>
                    {m.full_name ?? m.email}
                  </option>
                ))}
              </SelectField>
            )}
            <TextField
              label="Room"
              className="w-44"
              name="room_name"
              type="search"
              maxLength={120}
              placeholder="support"
              value={draft.room}
              onChange={(e) => set('room', e.target.value)}
            />
            <SelectField
              label="Status"
              className="w-44"
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
          loading="Loading voice sessions…"
          empty={
            <EmptyState
              title={filtered ? 'No voice sessions match these filters' : 'No voice sessions yet'}
            >
              {!filtered && 'A session starts when a LiveKit room token is issued.'}
            </EmptyState>
          }
        >
          {(items) => (
            <Table
              caption="Voice sessions"
              head={
                <tr>
                  {COLUMNS.map((label) => (
                    <th key={label} scope="col" className={th}>
                      {label}
                    </th>
                  ))}
                </tr>
              }
            >
              {items.map((v) => (
                <tr key={v.id} className="hover:bg-slate-50">
                  <td className={`${td} font-medium text-slate-900`}>{nameOf(v.user_id)}</td>
                  <td className={`${td} font-mono text-xs text-slate-700`} title={v.room_name}>
                    {roomLabel(v.room_name)}
                  </td>
                  <td className={td}>
                    <Badge tone={STATUS[v.status]?.tone ?? 'gray'}>
                      {STATUS[v.status]?.label ?? v.status}
                    </Badge>
                    {v.end_reason && v.status !== 'expired' && (
                      <span className="ml-2 text-xs text-slate-500">
                        {END_REASON[v.end_reason] ?? v.end_reason}
                      </span>
                    )}
                  </td>
                  <td className={`${td} min-w-32 text-slate-700`}>
                    {v.started_at ? (
                      <time dateTime={v.started_at}>{formatDateTime(v.started_at)}</time>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td className={`${td} min-w-32 text-slate-700`}>
                    {v.ended_at ? (
                      <time dateTime={v.ended_at}>{formatDateTime(v.ended_at)}</time>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td className={`${td} whitespace-nowrap tabular-nums text-slate-700`}>
                    {v.duration_seconds === null ? '—' : formatDuration(v.duration_seconds)}
                  </td>
                  <td className={`${td} text-slate-700`}>{SOURCE[v.source] ?? v.source}</td>
                </tr>
              ))}
            </Table>
          )}
        </ListBody>
        <LoadMore list={list} />
      </Card>
    </>
  );
}
