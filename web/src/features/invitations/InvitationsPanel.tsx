// Invite teammates by email (a single-use link valid 7 days), see pending invitations, revoke.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState } from '../../components/Card.tsx';
import { EmailField, SelectField } from '../../components/Field.tsx';
import { ListBody, LoadMore } from '../../components/ListActions.tsx';
import { actionsColumn, RowActionCell, Table, td } from '../../components/Table.tsx';
import { api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import { formatDate, grantableRoles, ROLE_LABELS, type Role } from '../../lib/format.ts';
import { useFormAction } from '../../lib/forms.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

type Invitation = ResponseOf<'/api/orgs/current/invitations', 'get'>['items'][number];

const listInvitations = (cursor: string | undefined) =>
  api.get('/api/orgs/current/invitations', { query: { cursor } });

export function InvitationsPanel() {
  const { me } = useSession();
  const toast = useToast();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const pending = usePagedList(listInvitations, toast.error);
  const [revoking, setRevoking] = useState<string | null>(null);
  const form = useFormAction();

  async function invite(e: FormEvent) {
    e.preventDefault();
    const created = await form.run(() =>
      api.post('/api/orgs/current/invitations', { body: { email: email.trim(), role } }),
    );
    if (!created) return;
    toast.success(`Invitation sent to ${created.email}.`);
    setEmail('');
    pending.reload();
  }

  async function revoke(inv: Invitation) {
    setRevoking(inv.id);
    try {
      await api.delete('/api/orgs/current/invitations/{id}', { params: { id: inv.id } });
      toast.success(`The invitation for ${inv.email} was revoked.`);
      pending.setItems((all) => all?.filter((x) => x.id !== inv.id) ?? null);
    } catch (err) {
      toast.error(errorMessage(err));
    } finally {
      setRevoking(null);
    }
  }

  return (
    <Card
      title="Invitations"
      id="invitations"
      description="Invite a teammate by email. The link in the mail works once and expires after 7 days."
    >
      <form noValidate onSubmit={invite} className="flex flex-col gap-4 sm:flex-row sm:items-start">
        <EmailField
          label="Email address"
          name="invite_email"
          autoComplete="off"
          value={email}
          onChange={setEmail}
          error={form.fieldErrors.email}
          className="flex-1"
        />
        <SelectField
          label="Role"
          name="invite_role"
          value={role}
          onChange={(e) => setRole(e.target.value as Role)}
          error={form.fieldErrors.role}
          className="sm:w-40"
        >
          {grantableRoles(me?.role).map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </SelectField>
        <Button type="submit" loading={form.busy} className="sm:mt-7">
          Send invitation
        </Button>
      </form>
      {form.formError && (
        <div className="mt-4">
          <Alert tone="error">{form.formError}</Alert>
        </div>
      )}
      <h3 className="mt-8 text-sm font-semibold text-slate-900">Pending invitations</h3>
      <div className="mt-3">
        <ListBody
          list={pending}
          loading="Loading invitations…"
          empty={
            <EmptyState title="No pending invitations">
              Invitations you send appear here until they are accepted.
            </EmptyState>
          }
        >
          {(pending) => (
            <Table
              caption="Pending invitations"
              columns={[
                'Email',
                'Role',
                { label: 'Expires', className: 'hidden sm:table-cell' },
                actionsColumn,
              ]}
            >
              {pending.map((inv) => (
                <tr key={inv.id}>
                  <td className={`${td} font-medium text-slate-900`}>{inv.email}</td>
                  <td className={td}>
                    <Badge>{ROLE_LABELS[inv.role as Role] ?? inv.role}</Badge>
                  </td>
                  <td className={`${td} hidden text-slate-500 sm:table-cell`}>
                    {formatDate(inv.expires_at)}
                  </td>
                  <RowActionCell
                    label="Revoke"
                    name={`Revoke invitation for ${inv.email}`}
                    onClick={() => void revoke(inv)}
                    loading={revoking === inv.id}
                  />
                </tr>
              ))}
            </Table>
          )}
        </ListBody>
        <LoadMore list={pending} />
      </div>
    </Card>
  );
}
