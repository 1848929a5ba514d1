// What your voice agents remember about you in this organization: the list of preferences (set
// here or by an agent's "remember this" tool), with add, change and remove. Every change sends
// the whole map; the server checks the rules and names each one broken.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card } from '../../components/Card.tsx';
import { TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { ApiError, api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { useToast } from '../../lib/toast.tsx';

type Preferences = ResponseOf<'/api/users/me/preferences', 'get'>;

const loadPreferences = () => api.get('/api/users/me/preferences');

/** Each broken rule as "field: message", or the default message. */
function ruleErrors(err: unknown): string | undefined {
  if (err instanceof ApiError && err.problem.errors?.length) {
    return err.problem.errors.map((e) => `${e.field}: ${e.message}`).join(' · ');
  }
  return undefined;
}

export function PreferencesSection() {
  const toast = useToast();
  const { data, error, setData } = useLoad(loadPreferences);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [removing, setRemoving] = useState<string | null>(null);
  const form = useFormAction({ onError: ruleErrors });

  const save = (preferences: Record<string, string>) =>
    api.put('/api/users/me/preferences', { body: preferences });

  async function add(e: FormEvent) {
    e.preventDefault();
    if (!data) return;
    const name = key.trim();
    const saved = await form.run(() => save({ ...data.preferences, [name]: value }));
    if (!saved) return;
    setData(saved);
    toast.success(
      Object.hasOwn(data.preferences, name) ? `Changed “${name}”.` : `Remembered “${name}”.`,
    );
    setKey('');
    setValue('');
  }

  async function remove(name: string, current: Preferences) {
    setRemoving(name);
    try {
      const next = Object.fromEntries(
        Object.entries(current.preferences).filter(([k]) => k !== name),
      );
      setData(await save(next));
      toast.success(`Forgot “${name}”.`);
    } catch (err) {
      toast.error(errorMessage(err));
    } finally {
      setRemoving(null);
    }
  }

  const entries = data ? Object.entries(data.preferences) : [];
  return (
    <Card
      id="preferences"
      title="Remembered preferences"
      description="What your voice agents remember about you in this organization. Agents can add to it; only this organization sees it."
    >
      {error ? (
        <Alert tone="error">{error}</Alert>
      ) : !data ? (
        <Loading label="Loading preferences…" />
      ) : (
        <div className="space-y-5">
          {entries.length === 0 ? (
            <p className="text-sm text-slate-500">Nothing remembered yet.</p>
          ) : (
            <ul aria-label="Preferences" className="-my-3 divide-y divide-slate-100">
              {entries.map(([name, v]) => (
                <li key={name} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center">
                  <div className="min-w-0 flex-1">
                    <p className="font-mono text-sm font-medium text-slate-900">{name}</p>
                    <p className="text-sm break-words whitespace-pre-wrap text-slate-600">{v}</p>
                  </div>
                  <Button
                    variant="secondary"
                    size="sm"
                    loading={removing === name}
                    onClick={() => void remove(name, data)}
                    aria-label={`Remove ${name}`}
                  >
                    Remove
                  </Button>
                </li>
              ))}
            </ul>
          )}
          <form
            noValidate
            onSubmit={add}
            aria-label="Add a preference"
            className="space-y-3 border-t border-slate-100 pt-4"
          >
            {form.formError && <Alert tone="error">{form.formError}</Alert>}
            <div className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_minmax(0,2fr)_auto] sm:items-end">
              <TextField
                label="Key"
                name="key"
                value={key}
                onChange={(e) => setKey(e.target.value)}
                hint="Letters, digits, _ . - (e.g. language)"
                autoComplete="off"
                required
              />
              <TextField
                label="Value"
                name="value"
                value={value}
                onChange={(e) => setValue(e.target.value)}
                autoComplete="off"
                required
              />
              <Button type="submit" loading={form.busy} disabled={!key.trim()}>
                Save
              </Button>
            </div>
          </form>
        </div>
      )}
    </Card>
  );
}
