// Calling rules: when scheduled calls may be placed (the org's calling window: a time zone, days
// and hours) and the numbers never called (the do-not-call list: add one, import a CSV, remove).
// Everyone reads both; owners and admins edit the window; owners, admins and managers the list.
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { useConfirmedAction } from '../../components/Dialog.tsx';
import { CheckboxField, TextAreaField, TextField } from '../../components/Field.tsx';
import { ListBody, LoadMore, useDeleteRow } from '../../components/ListActions.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { actionsColumn, Table, td } from '../../components/Table.tsx';
import { ApiError, api, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime, isOrgAdmin } from '../../lib/format.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

type CallingWindow = NonNullable<ResponseOf<'/api/orgs/current/calling-window', 'get'>['window']>;
type ListedNumber = ResponseOf<'/api/orgs/current/do-not-call', 'get'>['items'][number];

const DAYS = [
  [1, 'Monday'],
  [2, 'Tuesday'],
  [3, 'Wednesday'],
  [4, 'Thursday'],
  [5, 'Friday'],
  [6, 'Saturday'],
  [7, 'Sunday'],
] as const;
const PAGE = 20;

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function knownTimeZones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf(
      'timeZone',
    );
  } catch {
    return [];
  }
}

function describeWindow(w: CallingWindow): string {
  const names = w.days.map((d) => DAYS.find(([n]) => n === d)?.[1].slice(0, 3) ?? String(d));
  return `${names.join(', ')} · ${w.start}–${w.end} (${w.time_zone})`;
}

function WindowCard({ canEdit }: { canEdit: boolean }) {
  const toast = useToast();
  const loaded = useLoad(
    useCallback(() => api.get('/api/orgs/current/calling-window').then((r) => r.window), []),
  );
  const current = loaded.data;
  const [days, setDays] = useState<number[]>([1, 2, 3, 4, 5]);
  const form = useFormAction();
  const zone = useFormField(form, 'time_zone', browserTimeZone);
  const start = useFormField(form, 'start', '09:00');
  const end = useFormField(form, 'end', '20:00');
  const { setValue: setZone } = zone;
  const { setValue: setStart } = start;
  const { setValue: setEnd } = end;

  useEffect(() => {
    if (!current) return;
    setZone(current.time_zone);
    setDays(current.days);
    setStart(current.start);
    // A time input cannot show 24:00; midnight as an end means the end of the day.
    setEnd(current.end === '24:00' ? '00:00' : current.end);
  }, [current, setZone, setStart, setEnd]);

  async function save(e: FormEvent) {
    e.preventDefault();
    const saved = await form.run(() =>
      api.put('/api/orgs/current/calling-window', {
        body: {
          time_zone: zone.value.trim(),
          days,
          start: start.value,
          end: end.value === '00:00' ? '24:00' : end.value,
        },
      }),
    );
    if (saved) {
      loaded.setData(saved);
      toast.success(`Calls now go ${describeWindow(saved)}.`);
    }
  }

  const removeWindow = useConfirmedAction<true>({
    act: async () => {
      await api.delete('/api/orgs/current/calling-window');
      loaded.setData(null);
      toast.success('The calling window is removed: calls go at any time.');
    },
    title: () => 'Remove the calling window?',
    confirmLabel: 'Remove window',
    warning: 'Scheduled calls will then be placed at any time of day.',
  });

  const toggle = (d: number, on: boolean) =>
    setDays((all) => (on ? [...new Set([...all, d])].sort() : all.filter((x) => x !== d)));

  return (
    <Card
      id="calling-window"
      title="Calling window"
      description="Scheduled calls are placed only on these days and hours. A call due outside the window waits for the next opening."
    >
      {loaded.error && <Alert tone="error">{loaded.error}</Alert>}
      {!loaded.error && loaded.loadedAt === null && <Loading label="Loading the calling window…" />}
      {loaded.loadedAt !== null && (
        <div className="space-y-5">
          <p className="text-sm text-slate-700" data-testid="calling-window-now">
            {current ? (
              <>
                Calls go <strong>{describeWindow(current)}</strong>.
              </>
            ) : (
              'No calling window: calls go at any time.'
            )}
          </p>
          {canEdit ? (
            <form onSubmit={save} aria-label="Calling window" className="space-y-4">
              {form.formError && <Alert tone="error">{form.formError}</Alert>}
              <TextField
                label="Time zone"
                required
                list="calling-window-zones"
                {...zone.input}
                hint="An IANA time zone, e.g. America/New_York. A call with its own recipient time zone uses that one."
                className="max-w-sm"
              />
              <datalist id="calling-window-zones">
                {knownTimeZones().map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
              <fieldset>
                <legend className="text-sm font-medium text-slate-800">Days</legend>
                <div className="mt-2 flex flex-wrap gap-x-5 gap-y-2">
                  {DAYS.map(([n, name]) => (
                    <CheckboxField
                      key={n}
                      label={name}
                      checked={days.includes(n)}
                      onChange={(e) => toggle(n, e.target.checked)}
                    />
                  ))}
                </div>
                {form.fieldErrors.days && (
                  <p className="mt-1 text-sm text-red-700">{form.fieldErrors.days}</p>
                )}
              </fieldset>
              <div className="flex flex-wrap gap-4">
                <TextField label="From" type="time" required {...start.input} className="w-40" />
                <TextField
                  label="Until"
                  type="time"
                  required
                  {...end.input}
                  hint="Exclusive; 00:00 is the end of the day."
                  className="w-40"
                />
              </div>
              <div className="flex flex-wrap gap-2">
                <Button type="submit" loading={form.busy} disabled={days.length === 0}>
                  Save window
                </Button>
                {current && (
                  <Button variant="secondary" onClick={() => removeWindow.ask(true)}>
                    Remove window
                  </Button>
                )}
              </div>
            </form>
          ) : (
            <p className="text-sm text-slate-500">Owners and admins can change the window.</p>
          )}
        </div>
      )}
      {removeWindow.dialog}
    </Card>
  );
}

function DoNotCallCard({ canEdit }: { canEdit: boolean }) {
  const toast = useToast();
  const list = usePagedList(
    useCallback(
      (cursor: string | undefined) =>
        api.get('/api/orgs/current/do-not-call', { query: { limit: PAGE, cursor } }),
      [],
    ),
    toast.error,
  );
  const [importErrors, setImportErrors] = useState<{ field: string; message: string }[]>([]);
  const add = useFormAction();
  const imp = useFormAction();
  const number = useFormField(add, 'number');
  const reason = useFormField(add, 'reason');
  const csv = useFormField(imp, 'csv');

  async function addOne(e: FormEvent) {
    e.preventDefault();
    const saved = await add.run(() =>
      api.post('/api/orgs/current/do-not-call', {
        body: {
          number: number.value.trim(),
          ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
        },
      }),
    );
    if (!saved) return;
    list.setItems((all) => [saved, ...(all ?? [])]);
    number.setValue('');
    reason.setValue('');
    toast.success(
      `${saved.number} is on the list${saved.calls_cancelled ? `; ${saved.calls_cancelled} pending call(s) cancelled` : ''}.`,
    );
  }

  async function importFile(e: FormEvent) {
    e.preventDefault();
    setImportErrors([]);
    const result = await imp.run(async () => {
      try {
        return await api.post('/api/orgs/current/do-not-call/import', {
          text: { type: 'text/csv', data: csv.value },
        });
      } catch (err) {
        if (err instanceof ApiError) setImportErrors(err.problem.errors ?? []);
        throw err;
      }
    });
    if (!result) return;
    csv.setValue('');
    list.reload();
    toast.success(
      `Imported: ${result.added} added, ${result.already_listed} already listed, ${result.calls_cancelled} pending call(s) cancelled.`,
    );
  }

  async function readFile(file: File | undefined) {
    if (file) csv.setValue(await file.text());
  }

  const removeNumber = useDeleteRow<ListedNumber>({
    remove: (n) => api.delete('/api/orgs/current/do-not-call/{id}', { params: { id: n.id } }),
    setItems: list.setItems,
    title: (n) => `Remove ${n.number} from the list?`,
    confirmLabel: 'Remove number',
    deleted: (n) => `${n.number} is off the list.`,
    warning: 'Calls to it can be scheduled again. Calls it cancelled stay cancelled.',
  });

  return (
    <Card
      id="do-not-call"
      title="Do-not-call list"
      description="Numbers never called. Adding one cancels the pending calls to it; scheduling a call to it is refused."
    >
      {canEdit && (
        <div className="mb-6 grid gap-6 lg:grid-cols-2">
          <form onSubmit={addOne} aria-label="Add a number" className="space-y-3">
            {add.formError && <Alert tone="error">{add.formError}</Alert>}
            <TextField
              label="Number"
              type="tel"
              required
              autoComplete="off"
              placeholder="+14155550123"
              {...number.input}
              hint="International format (E.164)."
            />
            <TextField
              label="Reason"
              maxLength={500}
              {...reason.input}
              hint="Optional: why this number must not be called."
            />
            <Button type="submit" loading={add.busy}>
              Add number
            </Button>
          </form>
          <form onSubmit={importFile} aria-label="Import CSV" className="space-y-3">
            {imp.formError && <Alert tone="error">{imp.formError}</Alert>}
            {importErrors.length > 0 && (
              <ul className="list-disc pl-5 text-sm text-red-700" aria-label="Import errors">
                {importErrors.map((e) => (
                  <li key={`${e.field}-${e.message}`}>
                    {e.field}: {e.message}
                  </li>
                ))}
              </ul>
            )}
            <TextAreaField
              label="CSV"
              rows={5}
              {...csv.input}
              placeholder={'number,reason\n+14155550123,asked not to be called'}
              hint="One number a line: number,reason. All or nothing: a bad line imports nothing and is named."
            />
            <div className="flex flex-wrap items-center gap-3">
              <label className="text-sm text-slate-700">
                <span className="sr-only">CSV file</span>
                <input
                  type="file"
                  accept=".csv,text/csv"
                  aria-label="CSV file"
                  onChange={(e) => void readFile(e.target.files?.[0])}
                  className="text-sm"
                />
              </label>
              <Button type="submit" loading={imp.busy} disabled={csv.value.trim() === ''}>
                Import CSV
              </Button>
            </div>
          </form>
        </div>
      )}
      <ListBody
        list={list}
        loading="Loading the do-not-call list…"
        empty={
          <EmptyState title="No numbers on the list">
            Numbers added here are never called by your agents.
          </EmptyState>
        }
      >
        {(items) => (
          <Table
            caption="Do-not-call numbers"
            columns={['Number', 'Reason', 'Added', actionsColumn]}
          >
            {items.map((n) => (
              <tr key={n.id}>
                <td className={`${td} whitespace-nowrap font-medium text-slate-900`}>{n.number}</td>
                <td className={`${td} max-w-md break-words text-slate-700`}>{n.reason || '—'}</td>
                <td className={`${td} whitespace-nowrap text-slate-700`}>
                  <time dateTime={n.created_at}>{formatDateTime(n.created_at)}</time>
                </td>
                <td className={`${td} text-right`}>
                  {canEdit && (
                    <Button
                      variant="ghost"
                      size="sm"
                      onClick={() => removeNumber.ask(n)}
                      aria-label={`Remove ${n.number}`}
                    >
                      Remove
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </ListBody>
      <LoadMore list={list} />
      {removeNumber.dialog}
    </Card>
  );
}

export function CallingRulesPage() {
  const { me } = useSession();
  const role = me?.role;
  return (
    <>
      <PageHeader
        title="Calling rules"
        description="When your agents may place scheduled calls, and which numbers they never call."
      />
      <div className="space-y-6">
        <WindowCard canEdit={isOrgAdmin(role)} />
        <DoNotCallCard canEdit={isOrgAdmin(role) || role === 'manager'} />
      </div>
    </>
  );
}
