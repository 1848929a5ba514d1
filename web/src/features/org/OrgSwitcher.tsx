// Switch the organization you work in (users may belong to several). The server answers with
// new session cookies scoped to the chosen org.
import { useState } from 'react';
import { SelectField } from '../../components/Field.tsx';
import { api, errorMessage } from '../../lib/api.ts';
import { ROLE_LABELS } from '../../lib/format.ts';
import { useLoad } from '../../lib/load.ts';
import { useNavigate } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

const listOrgs = async () => (await api.get('/api/orgs')).items;

export function OrgSwitcher() {
  const session = useSession();
  const toast = useToast();
  const navigate = useNavigate();
  const orgs = useLoad(listOrgs).data;
  const [busy, setBusy] = useState(false);
  const current = session.me?.org;

  if (!current) return null;
  if (!orgs || orgs.length < 2) {
    return (
      <div className="rounded-lg bg-slate-50 px-3 py-2 ring-1 ring-slate-200">
        <p className="text-xs text-slate-500">Organization</p>
        <p className="truncate text-sm font-semibold text-slate-900">{current.name}</p>
      </div>
    );
  }

  return (
    <SelectField
      label="Organization"
      value={current.id}
      disabled={busy}
      onChange={async (e) => {
        const orgId = e.target.value;
        setBusy(true);
        try {
          const r = await api.post('/api/auth/switch-org', { body: { org_id: orgId } });
          const me = await session.signedIn(r);
          toast.success(`Switched to ${me?.org.name ?? 'the organization'}.`);
          navigate('/app');
        } catch (err) {
          toast.error(errorMessage(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      {orgs.map((o) => (
        <option key={o.id} value={o.id} disabled={o.suspended && !o.current}>
          {o.name} ({ROLE_LABELS[o.role as keyof typeof ROLE_LABELS] ?? o.role})
          {o.suspended ? ' — suspended' : ''}
        </option>
      ))}
    </SelectField>
  );
}
