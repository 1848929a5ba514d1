// API keys for agent workers and integrations: create with scopes (the key is shown once),
// list (never the secret), revoke (stops working at once).
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { CopyableSecret } from '../../components/CopyButton.tsx';
import { Dialog, SaveFooter, useConfirmedAction } from '../../components/Dialog.tsx';
import { CheckboxField, TextField } from '../../components/Field.tsx';
import { ListBody, LoadMore } from '../../components/ListActions.tsx';
import { actionsColumn, RowActionCell, Table, td } from '../../components/Table.tsx';
import { api, type BodyOf, type ResponseOf } from '../../lib/api.ts';
import { formatDate, timeAgo } from '../../lib/format.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useToast } from '../../lib/toast.tsx';

type ApiKey = ResponseOf<'/api/api-keys', 'get'>['items'][number];
type Created = ResponseOf<'/api/api-keys', 'post'>;

type Scope = BodyOf<'/api/api-keys', 'post'>['scopes'][number];

/**
 * Every scope the server accepts, by resource. Typed as a record over the generated union, so a
 * scope added on the server fails the dashboard's typecheck until it is listed here.
 */
const SCOPE_LABELS: Record<Scope, string> = {
  'org:read': 'Organization — read',
  'prompts:read': 'Prompts — read',
  'prompts:write': 'Prompts — write',
  'agent:context': 'Agent context — load a participant’s profile, role and preferences',
  'agent:preferences': 'Agent preferences — remember a participant’s preference',
  'users:read': 'People — read members (and emails in the agent context)',
  'phones:read': 'Phone numbers — read',
  'phones:write': 'Phone numbers — write',
  'agents:read': 'Voice agents — read',
  'agents:write': 'Voice agents — write',
  'message_agents:read': 'Messaging agents — read',
  'message_agents:write': 'Messaging agents — write',
  'scheduled_calls:read': 'Scheduled calls — read',
  'scheduled_calls:write': 'Scheduled calls — write',
  'do_not_call:read': 'Do-not-call list — read',
  'do_not_call:write': 'Do-not-call list — add, import and remove numbers',
  'calls:read': 'Call logs — read',
  'messages:read': 'Messages — read',
  'analytics:read': 'Analytics — read',
  'livekit:join': 'LiveKit — mint room tokens',
  'voice_sessions:read': 'Voice sessions — read',
  'conversations:read': 'Conversations (device audio) — read and play',
  'audio:write': 'Device audio — stream for you',
  'quotas:read': 'Quotas and usage — read',
};
const SCOPES = Object.keys(SCOPE_LABELS) as Scope[];

const STATUS_TONE = { active: 'green', expired: 'amber', revoked: 'red' } as const;

function CreateKeyDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (k: Created) => void;
}) {
  const form = useFormAction();
  const name = useFormField(form, 'name');
  const [scopes, setScopes] = useState<Scope[]>(['prompts:read']);
  const [expires, setExpires] = useState('');

  async function create(_e: FormEvent) {
    if (scopes.length === 0) {
      form.setFormError('Choose at least one scope.');
      return;
    }
    const body = {
      name: name.value.trim(),
      scopes,
      ...(expires ? { expires_at: new Date(`${expires}T23:59:59`).toISOString() } : {}),
    };
    const created = await form.run(() => api.post('/api/api-keys', { body }));
    if (created) onCreated(created);
  }

  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  return (
    <Dialog
      open
      wide
      onClose={onClose}
      onSubmit={create}
      title="Create an API key"
      description="The key acts for this organization with the scopes you choose, never more."
      footer={<SaveFooter label="Create key" busy={form.busy} onCancel={onClose} />}
    >
      <div className="space-y-5">
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        <TextField
          label="Name"
          {...name.input}
          required
          maxLength={100}
          placeholder="e.g. Production agent worker"
        />
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Scopes</legend>
          <p className="mt-1 text-xs text-slate-500">Give the key only what it needs.</p>
          <div className="mt-3 grid max-h-72 gap-2 overflow-y-auto pr-1 sm:grid-cols-2">
            {SCOPES.map((scope) => (
              <CheckboxField
                key={scope}
                label={SCOPE_LABELS[scope]}
                hint={scope}
                checked={scopes.includes(scope)}
                onChange={(e) =>
                  setScopes((all) =>
                    e.target.checked ? [...all, scope] : all.filter((x) => x !== scope),
                  )
                }
              />
            ))}
          </div>
          {form.fieldErrors.scopes && (
            <p className="mt-1.5 text-xs font-medium text-red-600">{form.fieldErrors.scopes}</p>
          )}
        </fieldset>
        <TextField
          label="Expires on"
          type="date"
          name="expires_at"
          min={tomorrow}
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          error={form.fieldErrors.expires_at}
          hint="Optional. Leave empty for a key that lasts until you revoke it."
        />
      </div>
    </Dialog>
  );
}

function ShowKeyDialog({ created, onClose }: { created: Created; onClose: () => void }) {
  return (
    <Dialog
      open
      onClose={onClose}
      title="Your new API key"
      description="Copy it now: this is the only time it is shown. Switchboard stores only a hash."
      footer={<Button onClick={onClose}>I have copied the key</Button>}
    >
      <div className="space-y-3">
        <CopyableSecret
          label="API key"
          value={created.key}
          what="API key copied"
          className="flex gap-2"
        />
        <p className="text-xs text-slate-500">
          Send it as <code className="font-mono">Authorization: Bearer sb_…</code> from your agent
          worker or integration.
        </p>
      </div>
    </Dialog>
  );
}

const listKeys = (cursor: string | undefined) => api.get('/api/api-keys', { query: { cursor } });

export function ApiKeysPage() {
  const toast = useToast();
  const keys = usePagedList(listKeys, toast.error);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const revoke = useConfirmedAction<ApiKey>({
    act: async (k) => {
      await api.delete('/api/api-keys/{id}', { params: { id: k.id } });
      toast.success(`API key "${k.name}" revoked. It stopped working.`);
      keys.setItems(
        (all) =>
          all?.map((x) => (x.id === k.id ? { ...x, status: 'revoked' as const } : x)) ?? null,
      );
    },
    title: (k) => `Revoke "${k.name}"?`,
    confirmLabel: 'Revoke key',
    warning: 'Anything using this key stops working at once. This cannot be undone.',
  });

  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys let agent workers and integrations call the API for this organization."
        actions={<Button onClick={() => setCreating(true)}>Create API key</Button>}
      />
      <Card>
        <ListBody
          list={keys}
          loading="Loading API keys…"
          empty={
            <EmptyState
              title="No API keys"
              action={<Button onClick={() => setCreating(true)}>Create your first key</Button>}
            >
              Create a key for each worker or integration, with only the scopes it needs.
            </EmptyState>
          }
        >
          {(keys) => (
            <Table
              caption="API keys"
              columns={[
                'Name',
                'Scopes',
                { label: 'Last used', className: 'hidden md:table-cell' },
                { label: 'Expires', className: 'hidden sm:table-cell' },
                actionsColumn,
              ]}
            >
              {keys.map((k) => (
                <tr key={k.id}>
                  <td className={td}>
                    <p className="flex items-center gap-2 font-medium text-slate-900">
                      {k.name}
                      {k.status !== 'active' && (
                        <Badge tone={STATUS_TONE[k.status]}>
                          {k.status === 'revoked' ? 'Revoked' : 'Expired'}
                        </Badge>
                      )}
                    </p>
                    <p className="font-mono text-xs text-slate-500">sb_{k.prefix}_…</p>
                  </td>
                  <td className={td}>
                    <div className="flex flex-wrap gap-1">
                      {k.scopes.map((s) => (
                        <Badge key={s}>{s}</Badge>
                      ))}
                    </div>
                  </td>
                  <td className={`${td} hidden text-slate-500 md:table-cell`}>
                    {timeAgo(k.last_used_at)}
                  </td>
                  <td className={`${td} hidden text-slate-500 sm:table-cell`}>
                    {k.expires_at ? formatDate(k.expires_at) : 'Never'}
                  </td>
                  <RowActionCell
                    label="Revoke"
                    name={`Revoke ${k.name}`}
                    onClick={() => revoke.ask(k)}
                    show={k.status === 'active'}
                  />
                </tr>
              ))}
            </Table>
          )}
        </ListBody>
        <LoadMore list={keys} />
      </Card>
      {creating && (
        <CreateKeyDialog
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setCreated(k);
            toast.success(`API key "${k.name}" created.`);
            keys.reload();
          }}
        />
      )}
      {created && <ShowKeyDialog created={created} onClose={() => setCreated(null)} />}
      {revoke.dialog}
    </>
  );
}
