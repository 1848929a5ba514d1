// Phone numbers: list, search, filter, register, edit (label, active), verify, delete. A number
// routes and places calls only once its ownership is verified (on the org's own Twilio account, or
// assigned by the platform operator); until then it shows as pending, with what to do about it.
import { type FormEvent, useCallback, useState } from 'react';
import { Alert, ConflictAlert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { ActiveBadge, Badge } from '../../components/Card.tsx';
import { Dialog, SaveFooter } from '../../components/Dialog.tsx';
import { ActiveField, TextField } from '../../components/Field.tsx';
import {
  type ActiveFilter,
  ActiveFilterField,
  RowActions,
  SearchForm,
  useResourceList,
} from '../../components/ListActions.tsx';
import { ResourcePage } from '../../components/ResourcePage.tsx';
import { actionsColumn, Table, td, UpdatedCell } from '../../components/Table.tsx';
import { ApiError, api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { saveRow, useConflictFormAction, useFormField } from '../../lib/forms.ts';
import { type Editing, withSaved } from '../../lib/paged-list.ts';
import { useToast } from '../../lib/toast.tsx';

type Phone = ResponseOf<'/api/phones', 'get'>['items'][number];

const PAGE = 20;

/** What the user can do about each conflict the server reports. */
const CONFLICT_HINTS: Record<string, { field: string; hint: string }> = {
  phone_number_exists: {
    field: 'Already registered in this organization',
    hint: 'This number is already in your list. Edit the existing entry instead.',
  },
};

/** What a pending number needs, by the answer of POST /api/phones/{id}/verify. */
const VERIFY_HINTS: Record<string, string> = {
  phone_not_on_account:
    "The number was not found on your organization's Twilio account. Add it to that account in Twilio, then verify again.",
  phone_assignment_required:
    "Your organization uses the platform's Twilio account: the platform operator assigns its numbers to you. Ask them to assign this one.",
  twilio_not_configured:
    'Twilio is not configured: an admin can add your Twilio account under the organization settings.',
};

const NUMBER_HINT = 'This is not a number in E.164 form (e.g. +14155550100).';

/** "+1 (415) 555-0100" → "+14155550100": people paste numbers with spaces and punctuation. */
function normalizeNumber(raw: string): string {
  return raw.trim().replace(/[\s().-]/g, '');
}

function PhoneDialog({
  editing,
  onClose,
  onSaved,
}: {
  editing: Editing<Phone>;
  onClose: () => void;
  onSaved: (p: Phone, created: boolean) => void;
}) {
  const initial = editing.mode === 'edit' ? editing.row : null;
  const [number, setNumber] = useState(initial?.number ?? '');
  const [active, setActive] = useState(initial?.active ?? true);
  const [numberProblem, setNumberProblem] = useState<string | null>(null);
  const { form, conflict, clearConflict } = useConflictFormAction();
  const label = useFormField(form, 'label', initial?.label ?? '');

  async function save(_e: FormEvent) {
    clearConflict();
    if (!initial && !/^\+[1-9][0-9]{6,14}$/.test(normalizeNumber(number))) {
      form.reset();
      setNumberProblem(NUMBER_HINT);
      return;
    }
    setNumberProblem(null);
    const labelValue = label.value.trim() ? label.value.trim() : null;
    await saveRow(
      form,
      initial,
      () =>
        api.post('/api/phones', {
          body: { number: normalizeNumber(number), label: labelValue, active },
        }),
      (id) =>
        api.patch('/api/phones/{id}', { params: { id }, body: { label: labelValue, active } }),
      onSaved,
    );
  }

  const conflictHint = conflict ? CONFLICT_HINTS[conflict.code] : undefined;
  const numberError =
    numberProblem ??
    (form.fieldErrors.number ? NUMBER_HINT : undefined) ??
    (!initial && conflictHint ? conflictHint.field : undefined);

  return (
    <Dialog
      open
      onClose={onClose}
      onSubmit={save}
      title={initial ? 'Edit phone number' : 'Add phone number'}
      description={
        initial
          ? 'Change the label, or stop routing calls and messages to this organization.'
          : 'A Twilio number of yours. Calls and messages to it reach your agents.'
      }
      footer={
        <SaveFooter
          label={initial ? 'Save changes' : 'Save phone number'}
          busy={form.busy}
          onCancel={onClose}
        />
      }
    >
      <div className="space-y-4">
        <ConflictAlert conflict={conflict} hint={conflictHint?.hint} />
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        <TextField
          label="Number"
          name="number"
          type="tel"
          required={!initial}
          disabled={Boolean(initial)}
          autoComplete="off"
          inputMode="tel"
          maxLength={24}
          placeholder="+14155550100"
          value={number}
          onChange={(e) => setNumber(e.target.value)}
          error={numberError}
          hint={
            initial
              ? 'The number itself cannot be changed; delete it and add the new one.'
              : 'In E.164 form: a plus sign, the country code and the number, e.g. +14155550100.'
          }
        />
        <TextField
          label="Label"
          {...label.input}
          maxLength={200}
          hint="Optional: e.g. “Support line” or “Sales, London”."
        />
        <ActiveField
          checked={active}
          onChange={setActive}
          hint="Routes inbound calls and messages to this organization once the number is verified."
        />
      </div>
    </Dialog>
  );
}

export function PhonesPage() {
  const toast = useToast();
  const [search, setSearch] = useState('');
  const [activeFilter, setActiveFilter] = useState<ActiveFilter>('');

  const filters = useCallback(
    (q: string, a: ActiveFilter) => ({
      q: q || undefined,
      active: a === '' ? undefined : a === 'true',
    }),
    [],
  );

  const resource = useResourceList<Phone>({
    fetchPage: useCallback(
      (cursor: string | undefined) =>
        api.get('/api/phones', {
          query: { limit: PAGE, cursor, ...filters(search, activeFilter) },
        }),
      [filters, search, activeFilter],
    ),
    noun: 'Phone number',
    nameOf: (p) => p.number,
    createdWord: 'added',
    remove: (p) => api.delete('/api/phones/{id}', { params: { id: p.id } }),
    confirmLabel: 'Delete phone number',
    warning:
      'Calls and messages to this number stop reaching your agents. This cannot be undone from the dashboard.',
  });
  const { items, setItems } = resource.list;

  const [verifying, setVerifying] = useState<string | null>(null);

  async function verify(p: Phone) {
    setVerifying(p.id);
    try {
      const saved = await api.post('/api/phones/{id}/verify', { params: { id: p.id } });
      setItems((all) => withSaved(all, saved, false));
      toast.success(`Phone number ${p.number} is verified.`);
    } catch (err) {
      const hint = err instanceof ApiError ? VERIFY_HINTS[err.code] : undefined;
      toast.error(hint ?? errorMessage(err));
      // A number that left the account is pending again: show it.
      if (err instanceof ApiError && err.code === 'phone_not_on_account') {
        api
          .get('/api/phones/{id}', { params: { id: p.id } })
          .then((fresh) => setItems((all) => withSaved(all, fresh, false)))
          .catch(() => {});
      }
    } finally {
      setVerifying(null);
    }
  }

  const filtered = search !== '' || activeFilter !== '';

  return (
    <ResourcePage
      title="Phone numbers"
      description="The Twilio numbers your agents answer and call from."
      newLabel="Add phone number"
      resource={resource}
      above={
        <>
          <SearchForm
            label="Search phones"
            placeholder="Part of the number or label"
            maxLength={200}
            onSearch={setSearch}
            className="flex flex-col gap-3 sm:flex-row sm:items-end"
            fieldClassName="flex-1"
          >
            <ActiveFilterField
              value={activeFilter}
              onChange={setActiveFilter}
              className="sm:w-40"
            />
          </SearchForm>
          {items?.some((p) => p.verification_status !== 'verified') && (
            <div className="mb-5">
              <Alert title="Some numbers are pending verification">
                A number answers and places calls only once we know it is yours: with your own
                Twilio account, press “Verify” and we look it up there; on the platform's account,
                the platform operator assigns it to you. Until then calls to it are not answered by
                your agents and no calls are placed from it.
              </Alert>
            </div>
          )}
        </>
      }
      loading="Loading phone numbers…"
      empty={{
        filtered,
        filteredTitle: 'No phone numbers match your filters',
        title: 'No phone numbers yet',
        createLabel: 'Add your first phone number',
        about: 'Add a Twilio number so your voice and messaging agents can use it.',
      }}
      dialog={(props) => <PhoneDialog {...props} />}
    >
      {(items) => (
        <Table
          caption="Phone numbers"
          columns={['Number', 'Label', 'Status', 'Created', 'Updated', actionsColumn]}
        >
          {items.map((p) => (
            <tr key={p.id}>
              <td className={`${td} whitespace-nowrap font-medium text-slate-900 tabular-nums`}>
                {p.number}
              </td>
              <td className={`${td} text-slate-600`}>
                {p.label || <span className="text-slate-500">—</span>}
              </td>
              <td className={td}>
                <div className="flex flex-wrap gap-1.5">
                  <ActiveBadge active={p.active} />
                  {p.verification_status === 'verified' ? (
                    <Badge tone="indigo">Verified</Badge>
                  ) : (
                    <Badge tone="amber">Pending verification</Badge>
                  )}
                </div>
              </td>
              <td className={`${td} whitespace-nowrap text-slate-500`}>
                {formatDateTime(p.created_at)}
              </td>
              <UpdatedCell at={p.updated_at} />
              <td className={td}>
                <div className="flex justify-end gap-2">
                  {p.verification_status !== 'verified' && (
                    <Button
                      variant="secondary"
                      size="sm"
                      loading={verifying === p.id}
                      onClick={() => void verify(p)}
                      aria-label={`Verify ${p.number}`}
                    >
                      Verify
                    </Button>
                  )}
                  <RowActions name={p.number} row={p} resource={resource} />
                </div>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </ResourcePage>
  );
}
