// Prompts: list, search, create, edit, delete — the pattern every voice-resource page follows.
import { type FormEvent, useCallback, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { EditDialog } from '../../components/Dialog.tsx';
import { NameField, TextAreaField, TextField } from '../../components/Field.tsx';
import { RowActions, SearchForm, useResourceList } from '../../components/ListActions.tsx';
import { ResourcePage } from '../../components/ResourcePage.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { timeAgo } from '../../lib/format.ts';
import { saveRow, useFormAction, useFormField } from '../../lib/forms.ts';
import type { Editing } from '../../lib/paged-list.ts';

type Prompt = ResponseOf<'/api/prompts', 'get'>['items'][number];

const PAGE = 20;

function PromptDialog({
  editing,
  onClose,
  onSaved,
}: {
  editing: Editing<Prompt>;
  onClose: () => void;
  onSaved: (p: Prompt, created: boolean) => void;
}) {
  const initial = editing.mode === 'edit' ? editing.row : null;
  const [name, setName] = useState(initial?.name ?? '');
  const form = useFormAction();
  const description = useFormField(form, 'description', initial?.description ?? '');
  const content = useFormField(form, 'content', initial?.content ?? '');

  async function save(_e: FormEvent) {
    const body = {
      name,
      content: content.value,
      description: description.value.trim() ? description.value : null,
    };
    await saveRow(
      form,
      initial,
      () => api.post('/api/prompts', { body }),
      (id) => api.patch('/api/prompts/{id}', { params: { id }, body }),
      onSaved,
    );
  }

  return (
    <EditDialog
      editing={initial !== null}
      noun="prompt"
      createLabel="Create prompt"
      description="The instructions a voice agent follows in its conversations."
      busy={form.busy}
      onClose={onClose}
      onSubmit={save}
    >
      <div className="space-y-4">
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        <NameField value={name} onChange={setName} error={form.fieldErrors.name} />
        <TextField
          label="Description"
          {...description.input}
          maxLength={2000}
          hint="Optional: what this prompt is for."
        />
        <TextAreaField label="Prompt text" {...content.input} required rows={10} />
      </div>
    </EditDialog>
  );
}

export function PromptsPage() {
  const [search, setSearch] = useState('');
  const resource = useResourceList<Prompt>({
    fetchPage: useCallback(
      (cursor: string | undefined) =>
        api.get('/api/prompts', { query: { limit: PAGE, cursor, q: search || undefined } }),
      [search],
    ),
    noun: 'Prompt',
    nameOf: (p) => `"${p.name}"`,
    remove: (p) => api.delete('/api/prompts/{id}', { params: { id: p.id } }),
    confirmLabel: 'Delete prompt',
    warning:
      'Agents using this prompt will stop getting it. This cannot be undone from the dashboard.',
  });

  return (
    <ResourcePage
      title="Prompts"
      description="Reusable instructions for your voice and messaging agents."
      newLabel="New prompt"
      resource={resource}
      above={
        <SearchForm
          label="Search prompts"
          placeholder="Search by name"
          onSearch={setSearch}
          className="flex gap-2"
          fieldClassName="flex-1 [&_label]:sr-only"
          buttonClassName="mt-1.5 self-start"
        />
      }
      loading="Loading prompts…"
      empty={{
        filtered: Boolean(search),
        filteredTitle: 'No prompts match your search',
        title: 'No prompts yet',
        createLabel: 'Create your first prompt',
        about: 'A prompt tells a voice agent who it is and how to behave.',
      }}
      dialog={(props) => <PromptDialog {...props} />}
    >
      {(items) => (
        <ul aria-label="Prompts" className="-my-3 divide-y divide-slate-100">
          {items.map((p) => (
            <li key={p.id} className="flex flex-col gap-3 py-3 sm:flex-row sm:items-center">
              <div className="min-w-0 flex-1">
                <p className="font-medium text-slate-900">{p.name}</p>
                <p className="truncate text-sm text-slate-500">
                  {p.description || p.content.slice(0, 140)}
                </p>
                <p className="mt-0.5 text-xs text-slate-500">Updated {timeAgo(p.updated_at)}</p>
              </div>
              <RowActions name={p.name} row={p} resource={resource} />
            </li>
          ))}
        </ul>
      )}
    </ResourcePage>
  );
}
