// Form submission state: busy flag, the server's field errors (shown next to each input) and a
// form-level message for everything else.
import { type ChangeEvent, useCallback, useState } from 'react';
import { ApiError, errorMessage } from './api.ts';

export interface FormAction {
  busy: boolean;
  fieldErrors: Record<string, string>;
  formError: string | null;
  /** Runs fn; on an error fills the errors and resolves undefined. */
  run<T>(fn: () => Promise<T>): Promise<T | undefined>;
  setFormError(message: string | null): void;
  reset(): void;
}

export function useFormAction(
  options: { onError?: (err: unknown) => string | null | undefined } = {},
): FormAction {
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const { onError } = options;

  const run = useCallback(
    async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
      setBusy(true);
      setFieldErrors({});
      setFormError(null);
      try {
        return await fn();
      } catch (err) {
        // onError: a message to show, null to show none, undefined for the default.
        const custom = onError?.(err);
        const fields = err instanceof ApiError ? err.fields : {};
        setFieldErrors(fields);
        const fallback = Object.keys(fields).length > 0 ? null : errorMessage(err);
        setFormError(custom === undefined ? fallback : custom);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [onError],
  );

  const reset = useCallback(() => {
    setFieldErrors({});
    setFormError(null);
  }, []);

  return { busy, fieldErrors, formError, run, setFormError, reset };
}

/**
 * A field's text, bound to its form: spread `input` on a TextField, TextAreaField or SelectField
 * (its name, value, change and the server's error for it), or `field` on a one-value field
 * (NameField, EmailField, the password fields: value, change and error). `errorKey` where the
 * server names the field otherwise (e.g. a nested setting).
 */
/** What `useFormField(...).input` spreads on a TextField, TextAreaField or SelectField. */
export type FieldInput = ReturnType<typeof useFormField>['input'];

export function useFormField(
  form: Pick<FormAction, 'fieldErrors'>,
  name: string,
  initial: string | (() => string) = '',
  errorKey = name,
) {
  const [value, setValue] = useState(initial);
  return {
    value,
    setValue,
    input: {
      name,
      value,
      onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
        setValue(e.target.value),
      error: form.fieldErrors[errorKey],
    },
    field: { value, onChange: setValue, error: form.fieldErrors[errorKey] },
  };
}

/**
 * A form whose conflicts (409: another row already holds the number, the phone's active agent) are
 * kept apart from its other errors: `conflict` is shown as its own alert and the dialog stays open.
 */
export function useConflictFormAction() {
  const [conflict, setConflict] = useState<ApiError | null>(null);
  const form = useFormAction({
    onError: (err) => {
      if (err instanceof ApiError && err.status === 409) {
        setConflict(err);
        return null;
      }
      return undefined;
    },
  });
  const clearConflict = useCallback(() => setConflict(null), []);
  return { form, conflict, clearConflict };
}

/**
 * A create-or-edit dialog's save: `update(id)` when it edits `initial`, else `create()`; only once
 * the server accepted it, `onSaved(row, created)` (a refusal stays in the form).
 */
export async function saveRow<T>(
  form: FormAction,
  initial: { id: string } | null,
  create: () => Promise<T>,
  update: (id: string) => Promise<T>,
  onSaved: (row: T, created: boolean) => void,
): Promise<void> {
  const saved = await form.run(() => (initial ? update(initial.id) : create()));
  if (saved) onSaved(saved, !initial);
}
