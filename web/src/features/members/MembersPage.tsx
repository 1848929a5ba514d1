// The org's members with their roles. Owners and admins change roles and deactivate members
// (soft: their sessions in this org end at once). `children` is the invitations panel, which
// the app shell puts on the same page.
import { type ReactNode, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { useConfirmedAction } from '../../components/Dialog.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { RowActionCell, Table, td, th } from '../../components/Table.tsx';
import { api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import {
  formatDate,
  grantableRoles,
  isOrgAdmin,
  mayManageMember,
  ROLE_LABELS,
  type Role,
} from '../../lib/format.ts';
import { allPages, useLoad } from '../../lib/load.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

type Member = ResponseOf<'/api/orgs/current/members', 'get'>['items'][number];

/** Every member: an org's people are few enough to show on one page. */
const allMembers = () =>
  allPages((cursor) => api.get('/api/orgs/current/members', { query: { limit: 100, cursor } }));

export function MembersPage({ children }: { children?: ReactNode }) {
  const { me } = useSession();
  const toast = useToast();
  const { data: members, error: loadError, reload } = useLoad(allMembers);
  const [busyId, setBusyId] = useState<string | null>(null);
  const admin = isOrgAdmin(me?.role);

  async function changeRole(m: Member, role: Role) {
    setBusyId(m.user_id);
    try {
      await api.patch('/api/orgs/current/members/{user_id}', {
        params: { user_id: m.user_id },
        body: { role },
      });
      toast.success(`${m.full_name ?? m.email} is now ${ROLE_LABELS[role].toLowerCase()}.`);
      await reload();
    } catch (err) {
      toast.error(errorMessage(err));
      await reload();
    } finally {
      setBusyId(null);
    }
  }

  const deactivate = useConfirmedAction<Member>({
    act: async (m) => {
      await api.delete('/api/orgs/current/members/{user_id}', { params: { user_id: m.user_id } });
      toast.success(
        `${m.full_name ?? m.email} was deactivated and logged out of this organization.`,
      );
    },
    afterwards: reload,
    title: (m) => `Deactivate ${m.full_name ?? m.email}?`,
    confirmLabel: 'Deactivate',
    warning:
      'They lose access to this organization at once and are logged out of it. Their account and other organizations are not affected.',
  });

  const active = members?.filter((m) => m.status !== 'deactivated') ?? [];
  const inactive = members?.filter((m) => m.status === 'deactivated') ?? [];

  return (
    <>
      <PageHeader
        title="Members"
        description={
          admin
            ? 'People in your organization and what they may do. Invite teammates below.'
            : 'People in your organization.'
        }
      />
      <div className="space-y-6">
        <Card title="Members" id="members">
          {loadError ? (
            <Alert tone="error">{loadError}</Alert>
          ) : !members ? (
            <Loading label="Loading members…" />
          ) : active.length === 0 ? (
            <EmptyState title="No members yet" />
          ) : (
            <Table
              caption="Members"
              head={
                <tr>
                  <th className={th}>Name</th>
                  <th className={th}>Role</th>
                  <th className={`${th} hidden sm:table-cell`}>Two-factor</th>
                  <th className={`${th} hidden md:table-cell`}>Joined</th>
                  {admin && (
                    <th className={th}>
                      <span className="sr-only">Actions</span>
                    </th>
                  )}
                </tr>
              }
            >
              {active.map((m) => {
                const self = m.user_id === me?.id;
                // Only an owner changes or removes an owner: for anyone else an owner's row reads only.
                const manage = !self && mayManageMember(me?.role, m.role);
                const label = m.full_name ?? m.email;
                return (
                  <tr key={m.user_id}>
                    <td className={td}>
                      <p className="font-medium text-slate-900">
                        {label} {self && <Badge tone="indigo">You</Badge>}
                      </p>
                      {m.full_name && <p className="text-xs text-slate-500">{m.email}</p>}
                    </td>
                    <td className={td}>
                      {manage ? (
                        <>
                          <label htmlFor={`role-${m.user_id}`} className="sr-only">
                            Role of {label}
                          </label>
                          <select
                            id={`role-${m.user_id}`}
                            value={m.role}
                            disabled={
                              busyId === m.user_id || deactivate.busy?.user_id === m.user_id
                            }
                            onChange={(e) => void changeRole(m, e.target.value as Role)}
                            className="rounded-md border-0 bg-white py-1.5 pr-8 pl-2 text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600 focus:outline-hidden"
                          >
                            {grantableRoles(me?.role).map((r) => (
                              <option key={r} value={r}>
                                {ROLE_LABELS[r]}
                              </option>
                            ))}
                          </select>
                        </>
                      ) : (
                        <Badge tone={m.role === 'owner' ? 'indigo' : 'gray'}>
                          {ROLE_LABELS[m.role]}
                        </Badge>
                      )}
                    </td>
                    <td className={`${td} hidden sm:table-cell`}>
                      {m.mfa_enabled ? <Badge tone="green">On</Badge> : <Badge>Off</Badge>}
                    </td>
                    <td className={`${td} hidden text-slate-500 md:table-cell`}>
                      {formatDate(m.joined_at)}
                    </td>
                    {admin && (
                      <RowActionCell
                        label="Deactivate"
                        name={`Deactivate ${label}`}
                        onClick={() => deactivate.ask(m)}
                        show={manage}
                      />
                    )}
                  </tr>
                );
              })}
            </Table>
          )}
          {inactive.length > 0 && (
            <details className="mt-4 text-sm">
              <summary className="cursor-pointer text-slate-600">
                {inactive.length} deactivated member{inactive.length === 1 ? '' : 's'}
              </summary>
              <ul className="mt-2 space-y-1 text-slate-500">
                {inactive.map((m) => (
                  <li key={m.user_id}>
                    {m.full_name ?? m.email} ({ROLE_LABELS[m.role]})
                  </li>
                ))}
              </ul>
            </details>
          )}
        </Card>
        {admin && children}
      </div>
      {deactivate.dialog}
    </>
  );
}
