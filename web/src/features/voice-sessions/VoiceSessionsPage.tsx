// Voice sessions (LiveKit): every room token issued and what became of it — joined, ended with
// its duration, expired unused or revoked — newest first, with filters (person, room, status,
// dates) and cursor "Load more". Members see their own; owners, admins and managers the org's.
import { Card, PageHeader, StatusBadge, type Tone } from '../../components/Card.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import {
  DayRangeFields,
  FilteredListBody,
  FilterForm,
  StatusFilterField,
} from '../../components/ListActions.tsx';
import { DateTimeText, Table, td } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { type LogFilters, logQuery, NO_LOG_FILTERS, useFilteredList } from '../../lib/filters.ts';
import { formatDuration } from '../../lib/format.ts';
import { allPages, useLoad } from '../../lib/load.ts';
import { useSession } from '../../lib/session.tsx';

type VoiceSession = ResponseOf<'/api/voice-sessions', 'get'>['items'][number];
type Status = VoiceSession['status'];

const COLUMNS = ['Person', 'Room', 'Status', 'Started', 'Ended', 'Duration', 'Source'];

const STATUS: Record<Status, { label: string; tone: Tone }> = {
  issued: { label: 'Token issued', tone: 'gray' },
  active: { label: 'In the room', tone: 'indigo' },
  ended: { label: 'Ended', tone: 'green' },
  expired: { label: 'Expired unused', tone: 'amber' },
  revoked: { label: 'Revoked', tone: 'red' },
};
const END_REASON: Record<NonNullable<VoiceSession['end_reason']>, string> = {
  left: 'left the room',
  room_finished: 'room closed',
  expired: 'token expired',
  revoked: 'access revoked',
  quota_exceeded: 'removed: over the voice-session limit',
};
const SOURCE: Record<VoiceSession['source'], string> = {
  api: 'Token API',
  auth_token: '/auth/token',
  register: 'Sign-up',
  login: 'Log-in',
};

interface Filters extends LogFilters<Status> {
  userId: string;
  room: string;
}
const NO_FILTERS: Filters = { ...NO_LOG_FILTERS, userId: '', room: '' };

/** A page of the log under the filters: local days become an ISO range. */
const fetchVoiceSessions = (f: Filters, cursor: string | undefined) =>
  api.get('/api/voice-sessions', {
    query: {
      ...logQuery(f, cursor),
      user_id: f.userId || undefined,
      room_name: f.room.trim() || undefined,
    },
  });

/** The room as its org knows it: the full LiveKit name without the `<org id>__` namespace. */
function roomLabel(name: string): string {
  const at = name.indexOf('__');
  return at >= 0 ? name.slice(at + 2) : name;
}

const allMembers = () =>
  allPages((cursor) => api.get('/api/orgs/current/members', { query: { limit: 100, cursor } }));

export function VoiceSessionsPage() {
  const { me } = useSession();
  // Managers and up see the org's sessions (the API decides; this only picks the wording).
  const seesOrg = me?.role === 'owner' || me?.role === 'admin' || me?.role === 'manager';
  // Names are a nicety (and the person filter is for those who see the org's sessions).
  const members = useLoad(allMembers).data ?? [];
  const nameOf = (id: string) => {
    const m = members.find((x) => x.user_id === id);
    return m ? (m.full_name ?? m.email) : id === me?.id ? (me.full_name ?? me.email) : id;
  };
  const log = useFilteredList(NO_FILTERS, fetchVoiceSessions);

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
        <FilterForm
          label="Filter voice sessions"
          filters={log.filters}
          tidy={(d) => ({ ...d, room: d.room.trim() })}
        >
          {seesOrg && (
            <SelectField
              label="Person"
              className="w-52"
              name="user_id"
              {...log.filters.field('userId')}
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
            {...log.filters.field('room')}
          />
          <StatusFilterField statuses={STATUS} filters={log.filters} className="w-44" />
          <DayRangeFields filters={log.filters} />
        </FilterForm>
        <FilteredListBody
          log={log}
          noun="voice sessions"
          emptyHint="A session starts when a LiveKit room token is issued."
        >
          {(items) => (
            <Table caption="Voice sessions" columns={COLUMNS}>
              {items.map((v) => (
                <tr key={v.id} className="hover:bg-slate-50">
                  <td className={`${td} font-medium text-slate-900`}>{nameOf(v.user_id)}</td>
                  <td className={`${td} font-mono text-xs text-slate-700`} title={v.room_name}>
                    {roomLabel(v.room_name)}
                  </td>
                  <td className={td}>
                    <StatusBadge status={v.status} statuses={STATUS} />
                    {v.end_reason && v.status !== 'expired' && (
                      <span className="ml-2 text-xs text-slate-500">
                        {END_REASON[v.end_reason] ?? v.end_reason}
                      </span>
                    )}
                  </td>
                  <td className={`${td} min-w-32 text-slate-700`}>
                    <DateTimeText at={v.started_at} />
                  </td>
                  <td className={`${td} min-w-32 text-slate-700`}>
                    <DateTimeText at={v.ended_at} />
                  </td>
                  <td className={`${td} whitespace-nowrap tabular-nums text-slate-700`}>
                    {v.duration_seconds === null ? '—' : formatDuration(v.duration_seconds)}
                  </td>
                  <td className={`${td} text-slate-700`}>{SOURCE[v.source] ?? v.source}</td>
                </tr>
              ))}
            </Table>
          )}
        </FilteredListBody>
      </Card>
    </>
  );
}
