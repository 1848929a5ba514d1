// What the voice-agent and messaging-agent forms share: the 409 "one active agent per phone"
// kept apart from other errors (it is shown as its own alert and the dialog stays open), checks
// made before sending with plain messages, scrolling the first error into view inside a dialog
// whose body scrolls, the name, phone, prompt and "active" every kind has, and a new agent
// starting on the first phone.
import { useEffect, useRef, useState } from 'react';
import { useConflictFormAction } from '../../lib/forms.ts';
import type { Lookups } from './voice-lookups.ts';

/** What to do about a name or phone the form lacks. */
const COMMON_HINTS: Record<string, string> = {
  name: 'Enter a name.',
  phone_id: 'Choose a phone number.',
};

export function useAgentForm(
  lookups: Lookups,
  initial: { name: string; active: boolean; phone_id: string; prompt_id: string | null } | null,
  /** field → plain words, used instead of the server's message (which may name a regex). */
  kindHints: Record<string, string> = {},
) {
  const fieldHints = { ...COMMON_HINTS, ...kindHints };
  const [local, setLocal] = useState<Record<string, string>>({});
  const [name, setName] = useState(initial?.name ?? '');
  const [active, setActive] = useState(initial?.active ?? true);
  const [phoneId, setPhoneId] = useState(initial?.phone_id ?? '');
  const [promptId, setPromptId] = useState(initial?.prompt_id ?? '');
  const { form, conflict, clearConflict } = useConflictFormAction();
  const { phones, prompts } = lookups;

  useEffect(() => {
    if (!initial && phoneId === '' && phones && phones.length > 0) setPhoneId(phones[0]!.id);
  }, [initial, phoneId, phones]);

  const bodyRef = useRef<HTMLDivElement>(null);
  const { formError, fieldErrors } = form;
  useEffect(() => {
    const el = bodyRef.current;
    if (!el) return;
    if (conflict || formError) el.scrollTo({ top: 0 });
    else if (Object.keys(fieldErrors).length > 0 || Object.keys(local).length > 0)
      el.querySelector('[aria-invalid="true"]')?.scrollIntoView({ block: 'center' });
  }, [conflict, formError, fieldErrors, local]);

  return {
    form,
    conflict,
    bodyRef,
    name,
    setName,
    active,
    setActive,
    phoneId,
    setPhoneId,
    promptId,
    setPromptId,
    ready: phones !== null && prompts !== null,
    noPhones: phones !== null && phones.length === 0,
    /** The agent's phone or prompt is not among the loaded choices (beyond the first page). */
    phoneMissing: phoneId !== '' && phones !== null && !phones.some((p) => p.id === phoneId),
    promptMissing: promptId !== '' && prompts !== null && !prompts.some((p) => p.id === promptId),
    /** What every kind of agent sends: its name, phone, prompt and whether it is active. */
    commonBody() {
      return { name: name.trim(), phone_id: phoneId, prompt_id: promptId || null, active };
    },
    /** A local check's message, else the server's (in plain words where there is a hint). */
    errorOf(field: string): string | undefined {
      return (
        local[field] ?? (fieldErrors[field] ? (fieldHints[field] ?? fieldErrors[field]) : undefined)
      );
    },
    /**
     * Shows the local problems (a missing name or phone, and the kind's own `problems`); true when
     * there are none and the form may be sent.
     */
    checked(kindProblems: Record<string, string> = {}): boolean {
      const problems = { ...kindProblems };
      if (!name.trim()) problems.name = fieldHints.name!;
      if (!phoneId) problems.phone_id = fieldHints.phone_id!;
      clearConflict();
      setLocal(problems);
      if (Object.keys(problems).length === 0) return true;
      form.reset();
      return false;
    },
  };
}

export type AgentForm = ReturnType<typeof useAgentForm>;
