// The body of an agent dialog: waits for the phones and prompts to choose from (with a retry),
// then scrolls inside the dialog under the 409 conflict, the form's error and, without any phone,
// a pointer to the phone numbers page.
import type { FormEvent, ReactNode } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { EditDialog } from '../../components/Dialog.tsx';
import { Loading } from '../../components/Spinner.tsx';
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
      {conflict && (
        <Alert tone="error" title={conflict.problem.title}>
          {conflict.problem.detail && conflict.problem.detail !== conflict.problem.title
            ? conflict.problem.detail
            : (conflictHints[conflict.code] ?? null)}
        </Alert>
      )}
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

/** An agent's create/edit dialog: nothing can be saved until the lookups arrive and a phone exists. */
export function AgentDialogFrame({
  editing,
  noun,
  createLabel,
  description,
  onClose,
  onSubmit,
  ...body
}: {
  editing: boolean;
  noun: string;
  createLabel: string;
  description: ReactNode;
  onClose: () => void;
  onSubmit: (e: FormEvent) => void;
} & Parameters<typeof AgentFormBody>[0]) {
  const { agentForm } = body;
  return (
    <EditDialog
      editing={editing}
      noun={noun}
      createLabel={createLabel}
      description={description}
      busy={agentForm.form.busy}
      disabled={!agentForm.ready || agentForm.noPhones}
      onClose={onClose}
      onSubmit={onSubmit}
    >
      <AgentFormBody {...body} />
    </EditDialog>
  );
}
