// The platform operator's kill switch (superuser only; the API refuses everyone else): every
// suspended or locked-down org with its kind, reason and who did it, a Resume action (with a
// reason), and a form to suspend an org by its id (from GET /api/admin/orgs).
import { type FormEvent, useCallback, useState } from 'react';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState, FormCard, PageHeader } from '../../components/Card.tsx';
import { FormDialog } from '../../components/Dialog.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { ListBody } from '../../components/ListActions.tsx';
import { actionsColumn, Table, td } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useToast } from '../../lib/toast.tsx';
import { ReasonField } from './ReasonField.tsx';

type SuspendedOrg = ResponseOf<'/api/admin/suspended-orgs', 'get'>['items'][number];

function ResumeDialog({
  org,
  onClose,
  onResumed,
}: {
  org: SuspendedOrg;
  onClose: () => void;
  onResumed: () => void;
}) {
  const form = useFormAction();
  const reason = useFormField(form, 'reason');
  return (
    <FormDialog
      title={`Resume ${org.name}?`}
      description="Its API keys and scheduled calls work again. Its people log in again: sessions never come back."
      form={form}
      submit="Resume"
      onClose={onClose}
      onSubmit={async () => {
        const ok = await form.run(() =>
          api.post('/api/admin/orgs/{id}/resume', {
            params: { id: org.id },
            body: { reason: reason.value.trim() },
          }),
        );
        if (ok) onResumed();
      }}
    >
      <ReasonField input={reason.input} />
    </FormDialog>
  );
}

/** The newest 100 orgs to pick from (GET /api/admin/orgs); any other by its id. */
const loadOrgs = () => api.get('/api/admin/orgs', { query: { limit: 100 } });

function SuspendForm({
  suspended,
  onSuspended,
}: {
  suspended: ReadonlySet<string>;
  onSuspended: () => void;
}) {
  const toast = useToast();
  const { data: orgs } = useLoad(loadOrgs);
  const form = useFormAction();
  const orgId = useFormField(form, 'org_id', '', 'id');
  const reason = useFormField(form, 'reason');
  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await form.run(() =>
      api.post('/api/admin/orgs/{id}/suspend', {
        params: { id: orgId.value.trim() },
        body: { reason: reason.value.trim() },
      }),
    );
    if (!r) return;
    toast.success(
      `Suspended: ${r.sessions_ended} sessions ended, ${r.live_calls_ended} live calls hung up.`,
    );
    orgId.setValue('');
    reason.setValue('');
    onSuspended();
  }
  return (
    <FormCard
      id="suspend-org"
      title="Suspend an organization"
      description="Cuts it off on every channel at once: sessions, API keys, device sockets, voice rooms, live calls, webhooks and scheduled calls."
      form={form}
      onSubmit={submit}
      submit="Suspend"
      danger
      className="space-y-4"
    >
      <SelectField
        label="Organization"
        name="org"
        value={orgs?.items.some((o) => o.id === orgId.value) ? orgId.value : ''}
        onChange={(e) => orgId.setValue(e.target.value)}
        className="max-w-md"
      >
        <option value="">Choose one, or enter its id below</option>
        {orgs?.items
          .filter((o) => !suspended.has(o.id))
          .map((o) => (
            <option key={o.id} value={o.id}>
              {o.name} ({o.active_members} members)
            </option>
          ))}
      </SelectField>
      <TextField label="Organization id" required {...orgId.input} className="max-w-md" />
      <ReasonField input={reason.input} className="max-w-md" />
    </FormCard>
  );
}

export function SuspendedOrgsPage() {
  const toast = useToast();
  const [resuming, setResuming] = useState<SuspendedOrg | null>(null);
  const fetchPage = useCallback(
    (cursor: string | undefined) =>
      api.get('/api/admin/suspended-orgs', { query: { limit: 50, cursor } }),
    [],
  );
  const list = usePagedList(fetchPage, toast.error);
  return (
    <>
      <PageHeader
        title="Suspended organizations"
        description="Organizations you suspended, and those their owners locked down. Only you can resume them."
      />
      <div className="space-y-6">
        <Card title="Suspended now" id="suspended-orgs">
          <ListBody
            list={list}
            loading="Loading suspended organizations…"
            empty={
              <EmptyState title="No suspended organizations">
                Every organization is in service.
              </EmptyState>
            }
          >
            {(items) => (
              <Table
                caption="Suspended organizations"
                columns={['Organization', 'Kind', 'Reason', 'Since', 'By', actionsColumn]}
              >
                {items.map((o) => (
                  <tr key={o.id}>
                    <td className={td}>
                      <div className="font-medium text-slate-900">{o.name}</div>
                      <div className="font-mono text-xs text-slate-500">{o.id}</div>
                    </td>
                    <td className={td}>
                      <Badge tone={o.kind === 'lockdown' ? 'amber' : 'red'}>
                        {o.kind === 'lockdown' ? 'Locked down' : 'Suspended'}
                      </Badge>
                    </td>
                    <td className={`${td} max-w-xs break-words`}>{o.reason}</td>
                    <td className={`${td} whitespace-nowrap`}>{formatDateTime(o.suspended_at)}</td>
                    <td className={td}>{o.suspended_by_email ?? '—'}</td>
                    <td className={`${td} text-right`}>
                      <Button variant="secondary" size="sm" onClick={() => setResuming(o)}>
                        Resume…
                      </Button>
                    </td>
                  </tr>
                ))}
              </Table>
            )}
          </ListBody>
        </Card>
        <SuspendForm
          suspended={new Set((list.items ?? []).map((o) => o.id))}
          onSuspended={list.reload}
        />
      </div>
      {resuming && (
        <ResumeDialog
          org={resuming}
          onClose={() => setResuming(null)}
          onResumed={() => {
            toast.success(`${resuming.name} is in service again.`);
            setResuming(null);
            list.reload();
          }}
        />
      )}
    </>
  );
}
