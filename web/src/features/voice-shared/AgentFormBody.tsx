// An agent's create/edit dialog (voice agents and messaging agents): its body waits for the
// phones and prompts to choose from (with a retry), then scrolls inside the dialog under the 409
// conflict, the form's error and, without any phone, a pointer to the phone numbers page; saving
// POSTs a new agent to the kind's collection or PATCHes the edited one under it.
import type { ReactNode } from 'react';
import { Alert, ConflictAlert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { EditDialog } from '../../components/Dialog.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { type BodyOf, type ResponseOf, request } from '../../lib/api.ts';
import { saveRow } from '../../lib/forms.ts';
import type { Editing } from '../../lib/paged-list.ts';
import { Link } from '../../lib/router.tsx';
import type { AgentForm } from './agent-form.ts';
import type { Lookups } from './voice-lookups.ts';

export function AgentFormBody({
  lookups,
  agentForm,
  conflictHints,
  what,
  children,
}: {
  lookups: Lookups;
  agentForm: AgentForm;
  /** problem code → what to do about it, when the server's detail adds nothing. */
  conflictHints: Record<string, string>;
  /** "An agent", "A messaging agent": the subject of "needs a phone number". */
  what: string;
  children: ReactNode;
}) {
  const { conflict, form } = agentForm;
  if (lookups.error) {
    return (
      <Alert
        tone="error"
        action={
          <Button variant="secondary" size="sm" onClick={lookups.reload}>
            Try again
          </Button>
        }
      >
        Could not load phone numbers and prompts: {lookups.error}
      </Alert>
    );
  }
  if (!agentForm.ready) return <Loading label="Loading phone numbers and prompts…" />;
  return (
    <div
      ref={agentForm.bodyRef}
      className="-mx-1 max-h-[calc(100dvh-18rem)] space-y-4 overflow-y-auto px-1 pb-1"
    >
      <ConflictAlert
        conflict={conflict}
        hint={conflict ? conflictHints[conflict.code] : undefined}
      />
      {form.formError && <Alert tone="error">{form.formError}</Alert>}
      {agentForm.noPhones && (
        <Alert tone="warning" title="Add a phone number first">
          {what} needs a phone number.{' '}
          <Link to="/app/phones" className="font-semibold underline">
            Go to Phone numbers
          </Link>
        </Alert>
      )}
      {children}
    </div>
  );
}

/** The collections of agents: a new one is POSTed here, an edit PATCHed to `{path}/{id}`. */
export type AgentPath = '/api/agents' | '/api/message-agents';
export type AgentRow<P extends AgentPath> = ResponseOf<P, 'post'>;
export type AgentEditing<P extends AgentPath> = Editing<AgentRow<P>>;

/** What a kind of agent's dialog says, and where it saves. */
export interface AgentKind<P extends AgentPath> {
  path: P;
  noun: string;
  createLabel: string;
  description: ReactNode;
  /** "An agent", "A messaging agent": the subject of "needs a phone number". */
  what: string;
  /** problem code → what to do about it, when the server's detail adds nothing. */
  conflictHints: Record<string, string>;
}

/** What the page hands an agent dialog. */
export interface AgentDialogProps<P extends AgentPath> {
  editing: AgentEditing<P>;
  lookups: Lookups;
  onClose: () => void;
  onSaved: (row: AgentRow<P>, created: boolean) => void;
}

export function initialAgent<P extends AgentPath>(editing: AgentEditing<P>): AgentRow<P> | null {
  return editing.mode === 'edit' ? editing.row : null;
}

/**
 * An agent's create/edit dialog: nothing can be saved until the lookups arrive and a phone exists.
 * `body()` gives what to send, or null when a local check refused the input (shown in the form).
 */
export function AgentDialog<P extends AgentPath>({
  kind,
  editing,
  lookups,
  onClose,
  onSaved,
  agentForm,
  body,
  children,
}: AgentDialogProps<P> & {
  kind: AgentKind<P>;
  agentForm: AgentForm;
  body: () => BodyOf<P, 'post'> | null;
  children: ReactNode;
}) {
  const initial = initialAgent(editing);
  async function save() {
    const sent = body();
    if (sent === null) return;
    // One cast for the two kinds: the server takes the same body on create and on edit.
    await saveRow(
      agentForm.form,
      initial,
      () => request('post', kind.path, { body: sent } as never) as Promise<AgentRow<P>>,
      (id) =>
        request(
          'patch',
          `${kind.path}/{id}` as `${AgentPath}/{id}`,
          {
            params: { id },
            body: sent,
          } as never,
        ) as Promise<AgentRow<P>>,
      onSaved,
    );
  }
  return (
    <EditDialog
      editing={initial !== null}
      noun={kind.noun}
      createLabel={kind.createLabel}
      description={kind.description}
      busy={agentForm.form.busy}
      disabled={!agentForm.ready || agentForm.noPhones}
      onClose={onClose}
      onSubmit={save}
    >
      <AgentFormBody
        lookups={lookups}
        agentForm={agentForm}
        conflictHints={kind.conflictHints}
        what={kind.what}
      >
        {children}
      </AgentFormBody>
    </EditDialog>
  );
}
