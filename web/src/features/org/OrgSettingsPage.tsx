// Org settings for owners and admins: the name and which roles must use two-factor auth.
import { type FormEvent, type ReactNode, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { FormCard, PageHeader } from '../../components/Card.tsx';
import { CheckboxField, TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { ROLE_LABELS, ROLES, type Role } from '../../lib/format.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';
import { QuotaLimitsCard } from './QuotaLimitsCard.tsx';
import { TwilioCredentialsCard } from './TwilioCredentialsCard.tsx';

type Org = ResponseOf<'/api/orgs/current', 'get'>;

const loadOrg = () => api.get('/api/orgs/current');

const TITLE = 'Organization settings';

/** `children`: more cards below the settings (the app shell adds the owner's lockdown card). */
export function OrgSettingsPage({ children }: { children?: ReactNode }) {
  const { data: org, error } = useLoad(loadOrg);
  if (org) return <OrgSettingsForm loaded={org}>{children}</OrgSettingsForm>;
  // Loading or failed, the page keeps its heading (one h1 on every page).
  return (
    <>
      <PageHeader title={TITLE} />
      {error ? <Alert tone="error">{error}</Alert> : <Loading />}
    </>
  );
}

/** The form starts from the org as loaded; a save shows the org as the server answered. */
function OrgSettingsForm({ loaded, children }: { loaded: Org; children?: ReactNode }) {
  const session = useSession();
  const toast = useToast();
  const [org, setOrg] = useState<Org>(loaded);
  const form = useFormAction();
  const name = useFormField(form, 'name', loaded.name);
  const [mfaRoles, setMfaRoles] = useState<Role[]>(loaded.settings.mfa_required_roles);
  const domains = useFormField(
    form,
    'allowed_email_domains',
    loaded.settings.allowed_email_domains.join(', '),
    'settings.allowed_email_domains',
  );

  async function save(e: FormEvent) {
    e.preventDefault();
    const updated = await form.run(() =>
      api.patch('/api/orgs/current', {
        body: {
          name: name.value.trim(),
          settings: {
            mfa_required_roles: mfaRoles,
            allowed_email_domains: domains.value
              .split(/[\s,]+/)
              .map((d) => d.trim().toLowerCase())
              .filter(Boolean),
          },
        },
      }),
    );
    if (!updated) return;
    setOrg(updated);
    toast.success('Organization settings saved.');
    void session.reload();
  }

  return (
    <>
      <PageHeader title={TITLE} description={`Settings of ${org.name}.`} />
      <FormCard
        title="General"
        id="org-general"
        form={form}
        onSubmit={save}
        submit="Save settings"
        className="space-y-6"
      >
        <TextField
          label="Organization name"
          {...name.input}
          required
          maxLength={200}
          className="max-w-md"
        />
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">
            Require two-factor authentication for
          </legend>
          <p className="mt-1 text-xs text-slate-500">
            People in these roles without two-factor authentication can only set it up until they
            do.
          </p>
          <div className="mt-3 grid max-w-md gap-3 sm:grid-cols-2">
            {ROLES.map((role) => (
              <CheckboxField
                key={role}
                label={ROLE_LABELS[role]}
                checked={mfaRoles.includes(role)}
                onChange={(e) =>
                  setMfaRoles((all) =>
                    e.target.checked ? [...all, role] : all.filter((r) => r !== role),
                  )
                }
              />
            ))}
          </div>
          {form.fieldErrors['settings.mfa_required_roles'] && (
            <p className="mt-1.5 text-xs font-medium text-red-600">
              {form.fieldErrors['settings.mfa_required_roles']}
            </p>
          )}
        </fieldset>
        <TextField
          label="Allowed email domains for invitations"
          {...domains.input}
          placeholder="example.com, example.org"
          hint="Optional. When set, invitations can only go to addresses at these domains."
          className="max-w-md"
        />
      </FormCard>
      <TwilioCredentialsCard />
      {children}
      <QuotaLimitsCard />
    </>
  );
}
