// The org's concurrency quotas on the settings page (owners and admins): each limit a number, or
// empty for the platform's (shown as the placeholder, and the ceiling: the server answers 422
// quota_above_platform_limit above it, named on the field).
import { type FormEvent, useCallback, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card } from '../../components/Card.tsx';
import { TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { useToast } from '../../lib/toast.tsx';

type Quotas = ResponseOf<'/api/orgs/current/quotas', 'get'>;
type Field = keyof Quotas['org'];

const FIELDS: { name: Field; label: string; hint: string }[] = [
  {
    name: 'max_live_calls',
    label: 'Live calls',
    hint: 'Incoming and outgoing together. Over it, callers hear that the lines are busy.',
  },
  {
    name: 'inbound_reserved_calls',
    label: 'Kept for incoming calls',
    hint: 'Scheduled calls never take these last slots.',
  },
  {
    name: 'max_voice_sessions',
    label: 'Voice sessions',
    hint: 'LiveKit room tokens held at once.',
  },
  { name: 'max_device_sockets', label: 'Device streams', hint: 'Devices streaming audio at once.' },
  {
    name: 'max_scheduled_calls_per_day',
    label: 'Scheduled calls per day',
    hint: 'Placed per day (UTC); the rest wait for midnight.',
  },
];

const asText = (v: number | null) => (v === null ? '' : String(v));

export function QuotaLimitsCard() {
  const toast = useToast();
  const [values, setValues] = useState<Record<Field, string> | null>(null);
  const { data, error, setData } = useLoad<Quotas>(
    useCallback(async (signal) => {
      const q = await api.get('/api/orgs/current/quotas', { signal });
      setValues(
        Object.fromEntries(FIELDS.map((f) => [f.name, asText(q.org[f.name])])) as Record<
          Field,
          string
        >,
      );
      return q;
    }, []),
  );
  const form = useFormAction();
  const [local, setLocal] = useState<Record<string, string>>({});

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!values) return;
    const body = {} as Record<Field, number | null>;
    const problems: Record<string, string> = {};
    for (const f of FIELDS) {
      const raw = values[f.name].trim();
      if (raw === '') body[f.name] = null;
      else if (/^\d+$/.test(raw)) body[f.name] = Number(raw);
      else problems[f.name] = 'Enter a whole number, or leave it empty.';
    }
    setLocal(problems);
    if (Object.keys(problems).length > 0) return;
    const saved = await form.run(() => api.put('/api/orgs/current/quotas', { body }));
    if (!saved) return;
    setData(saved);
    toast.success('Limits saved.');
  }

  const errors = { ...form.fieldErrors, ...local };
  return (
    <form noValidate onSubmit={save} className="mt-6">
      <Card
        title="Limits"
        id="quota-limits"
        description="What your organization may hold at once. Empty means the platform's limit, which is also the most you can set."
        footer={
          data && (
            <Button type="submit" loading={form.busy}>
              Save limits
            </Button>
          )
        }
      >
        {error ? (
          <Alert tone="error">{error}</Alert>
        ) : !data || !values ? (
          <Loading label="Loading limits…" />
        ) : (
          <div className="space-y-6">
            {form.formError && <Alert tone="error">{form.formError}</Alert>}
            <div className="grid max-w-3xl gap-4 sm:grid-cols-2">
              {FIELDS.map((f) => (
                <TextField
                  key={f.name}
                  label={f.label}
                  name={f.name}
                  inputMode="numeric"
                  placeholder={`${data.platform[f.name]} (platform)`}
                  value={values[f.name]}
                  onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
                  error={errors[f.name]}
                  hint={`${f.hint} In effect: ${data.limits[f.name]}.`}
                />
              ))}
            </div>
          </div>
        )}
      </Card>
    </form>
  );
}
