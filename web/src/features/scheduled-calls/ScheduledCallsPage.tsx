// Scheduled calls: outgoing calls the dispatcher places later. List (status filter, cursor
// "Load more"), schedule one (agent, number, local date and time, the recipient's time zone),
// cancel a pending one. "Will go at" is dispatch_at: the time moved into the calling window.
import { type FormEvent, useCallback, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { Dialog, SaveFooter, useConfirmedAction } from '../../components/Dialog.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { ListBody, LoadMore } from '../../components/ListActions.tsx';
import { actionsColumn, RowActionCell, Table, td } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { usePagedList, withSaved } from '../../lib/paged-list.ts';
import { Link } from '../../lib/router.tsx';
import { useToast } from '../../lib/toast.tsx';
import { type AgentOption, allOutgoingAgents } from '../voice-shared/voice-lookups.ts';

type ScheduledCall = ResponseOf<'/api/scheduled-calls', 'get'>['items'][number];
type Status = ScheduledCall['status'];
type Agent = AgentOption;

const PAGE = 20;

const STATUS: Record<
  Status,
  { label: string; tone: 'gray' | 'indigo' | 'green' | 'amber' | 'red' }
> = {
  pending: { label: 'Pending', tone: 'indigo' },
  dispatching: { label: 'Dispatching', tone: 'amber' },
  dispatched: { label: 'Dispatched', tone: 'green' },
  failed: { label: 'Failed', tone: 'red' },
  cancelled: { label: 'Cancelled', tone: 'gray' },
};
const STATUSES = Object.keys(STATUS) as Status[];

/** "2025-03-04T09:30" in the browser's time zone, one hour from now (a sensible default). */
function defaultLocalTime(): string {
  const d = new Date(Date.now() + 60 * 60 * 1000);
  d.setSeconds(0, 0);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function timeZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'your local time';
  } catch {
    return 'your local time';
  }
}

function ScheduleDialog({
  agents,
  onClose,
  onSaved,
}: {
  agents: Agent[];
  onClose: () => void;
  onSaved: (s: ScheduledCall) => void;
}) {
  // An agent places calls only with a media stream to connect them to (the server refuses others).
  const usable = agents.filter((a) => a.active && a.media_stream_url);
  const form = useFormAction();
  const agent = useFormField(form, 'agent_id', usable[0]?.id ?? '');
  const to = useFormField(form, 'to');
  const when = useFormField(form, 'scheduled_at', defaultLocalTime);
  const zone = useFormField(form, 'recipient_time_zone');

  async function save(_e: FormEvent) {
    const at = new Date(when.value);
    // An unparsable value goes to the server as typed, which names the field in its answer.
    const scheduled_at = Number.isNaN(at.getTime()) ? when.value : at.toISOString();
    const saved = await form.run(() =>
      api.post('/api/scheduled-calls', {
        body: {
          agent_id: agent.value,
          to: to.value.trim(),
          scheduled_at,
          ...(zone.value.trim() ? { recipient_time_zone: zone.value.trim() } : {}),
        },
      }),
    );
    if (saved) onSaved(saved);
  }

  return (
    <Dialog
      open
      onClose={onClose}
      onSubmit={save}
      title="Schedule a call"
      description="The agent calls the number from its phone at the chosen time."
      footer={
        <SaveFooter
          label="Schedule call"
          busy={form.busy}
          onCancel={onClose}
          disabled={usable.length === 0}
        />
      }
    >
      <div className="space-y-4">
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        {usable.length === 0 && (
          <Alert tone="warning">
            There is no active outgoing agent with a media stream URL yet. Create or complete one on
            the{' '}
            <Link to="/app/agents" className="font-semibold underline">
              Agents
            </Link>{' '}
            page first.
          </Alert>
        )}
        <SelectField
          label="Agent"
          {...agent.input}
          required
          hint="Active outgoing agents with a media stream URL."
        >
          {usable.length === 0 && <option value="">No outgoing agents</option>}
          {usable.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </SelectField>
        <TextField
          label="To"
          {...to.input}
          type="tel"
          required
          autoComplete="off"
          placeholder="+14155550123"
          hint="The number to call, in international format (E.164)."
        />
        <TextField
          label="When"
          {...when.input}
          type="datetime-local"
          required
          hint={`In your time zone (${timeZoneName()}).`}
        />
        <TextField
          label="Recipient time zone"
          {...zone.input}
          autoComplete="off"
          placeholder="Europe/Berlin"
          hint="Optional: the organization's calling window then applies in the recipient's time zone."
        />
      </div>
    </Dialog>
  );
}

export function ScheduledCallsPage() {
  const toast = useToast();
  const [status, setStatus] = useState<Status | ''>('');
  const { data: agents, error: agentsError } = useLoad(allOutgoingAgents);
  const [creating, setCreating] = useState(false);

  const list = usePagedList(
    useCallback(
      (cursor: string | undefined) =>
        api.get('/api/scheduled-calls', {
          query: { limit: PAGE, cursor, status: status || undefined },
        }),
      [status],
    ),
    toast.error,
  );
  const { setItems } = list;
  // A call created or cancelled is shown only while it matches the status filter.
  const saved = (s: ScheduledCall, created: boolean) =>
    setItems((all) => withSaved(all, s, created, !status || s.status === status));

  const agentName = (id: string) => agents?.find((a) => a.id === id)?.name ?? '—';

  const cancel = useConfirmedAction<ScheduledCall>({
    act: async (s) => {
      const updated = await api.post('/api/scheduled-calls/{id}/cancel', {
        params: { id: s.id },
      });
      saved(updated, false);
      toast.success(`The call to ${s.to} is cancelled.`);
    },
    title: (s) => `Cancel the call to ${s.to}?`,
    confirmLabel: 'Cancel call',
    warning: (s) =>
      `It was scheduled for ${formatDateTime(s.scheduled_at)}. The agent will not place it.`,
  });

  const openCreate = () => {
    if (agentsError) toast.error(agentsError);
    else setCreating(true);
  };

  return (
    <>
      <PageHeader
        title="Scheduled calls"
        description="Outgoing calls your agents place at a set time."
        actions={
          <Button onClick={openCreate} disabled={!agents && !agentsError}>
            Schedule a call
          </Button>
        }
      />
      <Card>
        <div className="mb-5 flex flex-wrap items-end gap-3">
          <SelectField
            label="Status"
            name="status"
            value={status}
            onChange={(e) => setStatus(e.target.value as Status | '')}
            className="w-48"
          >
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS[s].label}
              </option>
            ))}
          </SelectField>
        </div>
        <ListBody
          list={list}
          loading="Loading scheduled calls…"
          empty={
            <EmptyState
              title={
                status ? `No ${STATUS[status].label.toLowerCase()} calls` : 'No scheduled calls yet'
              }
              action={!status && <Button onClick={openCreate}>Schedule your first call</Button>}
            >
              {!status && 'An outgoing agent can call a number at a time you choose.'}
            </EmptyState>
          }
        >
          {(items) => (
            <Table
              caption="Scheduled calls"
              columns={[
                'To',
                'Agent',
                'Scheduled for',
                'Will go at',
                'Status',
                'Attempts',
                'Result',
                actionsColumn,
              ]}
            >
              {items.map((s) => (
                <tr key={s.id}>
                  <td className={`${td} whitespace-nowrap font-medium text-slate-900`}>{s.to}</td>
                  <td className={`${td} text-slate-700`}>{agentName(s.agent_id)}</td>
                  <td className={`${td} whitespace-nowrap text-slate-700`}>
                    <time dateTime={s.scheduled_at}>{formatDateTime(s.scheduled_at)}</time>
                  </td>
                  <td className={`${td} whitespace-nowrap text-slate-700`}>
                    {s.dispatch_at ? (
                      <time dateTime={s.dispatch_at}>{formatDateTime(s.dispatch_at)}</time>
                    ) : (
                      <span className="text-slate-500">—</span>
                    )}
                  </td>
                  <td className={td}>
                    <Badge tone={STATUS[s.status].tone}>{STATUS[s.status].label}</Badge>
                  </td>
                  <td className={`${td} tabular-nums text-slate-700`}>{s.attempts}</td>
                  <td className={`${td} max-w-xs text-slate-600`}>
                    {s.call_sid && (
                      <Link
                        to={`/app/calls?call=${encodeURIComponent(s.call_sid)}`}
                        className="font-mono text-xs font-semibold text-indigo-600 hover:text-indigo-500"
                        aria-label={`Call ${s.call_sid}`}
                      >
                        {s.call_sid}
                      </Link>
                    )}
                    {s.last_error && (
                      // A pending call's reason is why it waits (a quota, the calling window, a
                      // retry's backoff), not a verdict: shown plainly, an error only once final.
                      <p
                        className={`break-words text-xs ${s.status === 'pending' ? 'text-slate-600' : 'text-red-700'}`}
                      >
                        {s.last_error}
                      </p>
                    )}
                    {!s.call_sid && !s.last_error && <span className="text-slate-500">—</span>}
                  </td>
                  <RowActionCell
                    label="Cancel"
                    name={`Cancel the call to ${s.to}`}
                    onClick={() => cancel.ask(s)}
                    show={s.status === 'pending'}
                  />
                </tr>
              ))}
            </Table>
          )}
        </ListBody>
        <LoadMore list={list} />
      </Card>
      {creating && agents && (
        <ScheduleDialog
          agents={agents}
          onClose={() => setCreating(false)}
          onSaved={(s) => {
            setCreating(false);
            toast.success(
              `Call to ${s.to} scheduled; it will go at ${formatDateTime(s.dispatch_at ?? s.scheduled_at)}.`,
            );
            saved(s, true);
          }}
        />
      )}
      {cancel.dialog}
    </>
  );
}
