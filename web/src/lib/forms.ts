// Form submission state: busy flag, the server's field errors (shown next to each input) and a
// form-level message for everything else. After a refusal with field errors, the keyboard focus
// moves to the first invalid field of the form that was sent, so the error is announced with it.
import { type ChangeEvent, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, errorMessage } from './api.ts';

export interface FormAction {
  busy: boolean;
  fieldErrors: Record<string, string>;
  formError: string | null;
  /**
   * Runs fn; on an error fills the errors and resolves undefined. While a run is under way another
   * is refused (resolves undefined at once): a form is sent once.
   */
  run<T>(fn: () => Promise<T>): Promise<T | undefined>;
  setFormError(message: string | null): void;
  reset(): void;
}

// The form whose submit event is being dispatched right now. The focus alone does not say which
// form was sent: Safari and Firefox on macOS do not focus a clicked button, so a mouse submit
// leaves the focus on the body. A capturing listener sees every submit before React's handler
// (which calls `run`) and forgets it once the dispatch is over.
let submitting: HTMLFormElement | null = null;
if (typeof document !== 'undefined') {
  document.addEventListener(
    'submit',
    (e) => {
      if (!(e.target instanceof HTMLFormElement)) return;
      submitting = e.target;
      queueMicrotask(() => {
        submitting = null;
      });
    },
    true,
  );
}

export function useFormAction(
  options: { onError?: (err: unknown) => string | null | undefined } = {},
): FormAction {
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const { onError } = options;
  const running = useRef(false);
  // The form that was sent (the one submitting, else the one holding the focus), and its refusal's message, for the
  // focus move below; `refused` counts refusals with field errors.
  const sent = useRef<{ form: HTMLFormElement | null; message: string }>({
    form: null,
    message: '',
  });
  const [refused, setRefused] = useState(0);

  const run = useCallback(
    async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
      if (running.current) return undefined;
      running.current = true;
      const active = document.activeElement;
      sent.current = {
        form: submitting ?? (active instanceof HTMLElement ? active.closest('form') : null),
        message: '',
      };
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
        const hasFields = Object.keys(fields).length > 0;
        const fallback = hasFields ? null : errorMessage(err);
        setFormError(custom === undefined ? fallback : custom);
        if (hasFields && custom === undefined) {
          sent.current.message = errorMessage(err);
          setRefused((n) => n + 1);
        }
        return undefined;
      } finally {
        running.current = false;
        setBusy(false);
      }
    },
    [onError],
  );

  // Once the field errors are shown: focus the first invalid field, which reads out its error.
  // A refusal naming no field the form shows gets the form-level message instead.
  useEffect(() => {
    if (refused === 0) return;
    const { form, message } = sent.current;
    const invalid = form?.isConnected
      ? form.querySelector<HTMLElement>('[aria-invalid="true"]')
      : null;
    if (invalid) invalid.focus();
    else setFormError(message);
  }, [refused]);

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
