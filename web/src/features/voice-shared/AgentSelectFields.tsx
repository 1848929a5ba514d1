// The phone and prompt pickers of an agent dialog. A phone or prompt the agent points at but the
// lookups no longer list (deleted, or beyond the loaded pages) stays selectable as "Current …",
// so saving an unrelated edit never silently rebinds the agent.
import type { ReactNode } from 'react';
import { SelectField } from '../../components/Field.tsx';
import type { AgentForm } from './agent-form.ts';
import { type Lookups, phoneText } from './voice-lookups.ts';

export function PhoneSelectField({
  lookups,
  agentForm,
  hint,
}: {
  lookups: Lookups;
  agentForm: AgentForm;
  hint?: ReactNode;
}) {
  const { phoneId, setPhoneId, errorOf } = agentForm;
  return (
    <SelectField
      label="Phone number"
      name="phone_id"
      required
      value={phoneId}
      onChange={(e) => setPhoneId(e.target.value)}
      error={errorOf('phone_id')}
      hint={hint}
    >
      {agentForm.noPhones && <option value="">No phone numbers yet</option>}
      {agentForm.phoneMissing && <option value={phoneId}>Current phone number</option>}
      {(lookups.phones ?? []).map((p) => (
        <option key={p.id} value={p.id}>
          {phoneText(p)}
          {p.active ? '' : ' (inactive)'}
        </option>
      ))}
    </SelectField>
  );
}

export function PromptSelectField({
  lookups,
  agentForm,
  noneLabel,
  hint,
}: {
  lookups: Lookups;
  agentForm: AgentForm;
  /** The label of the empty choice. */
  noneLabel: string;
  hint: ReactNode;
}) {
  const { promptId, setPromptId, errorOf } = agentForm;
  return (
    <SelectField
      label="Prompt"
      name="prompt_id"
      value={promptId}
      onChange={(e) => setPromptId(e.target.value)}
      error={errorOf('prompt_id')}
      hint={hint}
    >
      <option value="">{noneLabel}</option>
      {agentForm.promptMissing && <option value={promptId}>Current prompt</option>}
      {(lookups.prompts ?? []).map((p) => (
        <option key={p.id} value={p.id}>
          {p.name}
        </option>
      ))}
    </SelectField>
  );
}
