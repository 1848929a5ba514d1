// Org settings for owners and admins: the name and which roles must use two-factor auth.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card, PageHeader } from '../../components/Card.tsx';
import { CheckboxField, TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { ROLE_LABELS, ROLES, type Role } from '../../lib/format.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';
import { QuotaLimitsCard } from './QuotaLimitsCard.tsx';
import { TwilioCredentialsCard } from './TwilioCredentialsCard.tsx';

type Org = ResponseOf<'/api/orgs/current', 'get'>;

const loadOrg = () => api.get('/api/orgs/current');

export function OrgSettingsPage() {
  const { data: org, error } = useLoad(loadOrg);
  if (error) return <Alert tone="error">{error}</Alert>;
  if (!org) return <Loading />;
  return <OrgSettingsForm loaded={org} />;
}

/** The form starts from the org as loaded; a save shows the org as the server answered. */
function OrgSettingsForm({ loaded }: { loaded: Org }) {
  const session = useSession();
  const toast = useToast();
  const [org, setOrg] = useState<Org>(loaded);
  const [name, setName] = useState(loaded.name);
  const [mfaRoles, setMfaRoles] = useState<Role[]>(loaded.settings.mfa_required_roles);
  const [domains, setDomains] = useState(loaded.settings.allowed_email_domains.join(', '));
  const form = useFormAction();

  async function save(e: FormEvent) {
    e.preventDefault();
    const updated = await form.run(() =>
      api.patch('/api/orgs/current', {
        body: {
          name: name.trim(),
          settings: {
            mfa_required_roles: mfaRoles,
            allowed_email_domains: domains
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
      <PageHeader title="Organization settings" description={`Settings of ${org.name}.`} />
      <form noValidate onSubmit={save}>
        <Card
          title="General"
          id="org-general"
          footer={
            <Button type="submit" loading={form.busy}>
              Save settings
            </Button>
          }
        >
          <div className="space-y-6">
            {form.formError && <Alert tone="error">{form.formError}</Alert>}
            <TextField
              label="Organization name"
              name="name"
              required
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={form.fieldErrors.name}
              className="max-w-md"
            />
            <fieldset>
              <legend className="text-sm font-medium text-slate-800">
                Require two-factor authentication for
              </legend>
              <p className="mt-1 text-xs text-slate-500">
                People in these roles without two-factor authentication can only set it up until
                they do.
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
              name="allowed_email_domains"
              placeholder="example.com, example.org"
              value={domains}
              onChange={(e) => setDomains(e.target.value)}
              error={form.fieldErrors['settings.allowed_email_domains']}
              hint="Optional. When set, invitations can only go to addresses at these domains."
              className="max-w-md"
            />
          </div>
        </Card>
      </form>
      <TwilioCredentialsCard />
      <QuotaLimitsCard />
    </>
  );
}
