// Modal dialogs on the native <dialog> element: focus moves in and is trapped, Escape closes.
// Focus returns to the opener however the dialog ends — closed, or unmounted (most dialogs are
// rendered only while open, and an unmounted <dialog> never runs the browser's own return).
import {
  type ComponentProps,
  type FormEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import { errorMessage } from '../lib/api.ts';
import type { FormAction } from '../lib/forms.ts';
import { Alert } from './Alert.tsx';
import { Button } from './Button.tsx';

export function Dialog({
  open,
  onClose,
  title,
  description,
  children,
  footer,
  onSubmit,
  wide = false,
}: {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  children?: ReactNode;
  footer?: ReactNode;
  /** Makes the body a form: Enter submits. */
  onSubmit?: (e: FormEvent<HTMLFormElement>) => void;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();

  useEffect(() => {
    const d = ref.current;
    if (!d || !open) return;
    // The element to give focus back to: whatever had it when the dialog opened.
    const active = document.activeElement;
    const opener = active instanceof HTMLElement && !d.contains(active) ? active : null;
    if (!d.open) d.showModal();
    return () => {
      if (d.open) d.close();
      if (opener?.isConnected) opener.focus();
    };
  }, [open]);

  const body = (
    <>
      <div className="px-5 pt-5 sm:px-6">
        <h2 id={titleId} className="text-lg font-semibold text-slate-900">
          {title}
        </h2>
        {description && (
          <div id={descId} className="mt-1 text-sm text-slate-500">
            {description}
          </div>
        )}
      </div>
      <div className="px-5 py-4 sm:px-6">{children}</div>
      {footer && (
        <div className="flex flex-col-reverse gap-2 border-t border-slate-100 bg-slate-50 px-5 py-3 sm:flex-row sm:justify-end sm:px-6">
          {footer}
        </div>
      )}
    </>
  );

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className={`m-auto w-[calc(100%-2rem)] ${wide ? 'max-w-2xl' : 'max-w-md'} overflow-hidden rounded-xl bg-white p-0 shadow-2xl ring-1 ring-slate-200 backdrop:bg-slate-900/50`}
    >
      {open &&
        (onSubmit ? (
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              onSubmit(e);
            }}
          >
            {body}
          </form>
        ) : (
          body
        ))}
    </dialog>
  );
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  busy,
  error,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: ReactNode;
  children?: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  /** Why the action failed: shown in the dialog, the one place a modal leaves perceivable. */
  error?: string | null;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      description={children}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button variant="danger" loading={busy} onClick={onConfirm}>
            {confirmLabel}
          </Button>
        </>
      }
    >
      {error && <Alert tone="error">{error}</Alert>}
    </Dialog>
  );
}

/**
 * An action that asks first (delete, revoke, cancel): `ask(subject)` opens the confirmation;
 * confirmed, `act(subject)` runs with the button busy. Once it succeeded the dialog closes and
 * `afterwards(subject)` runs (e.g. a reload); a failure is an error alert in the dialog, which stays
 * open (a toast would sit outside the modal, inert and unannounced). `busy` is the subject being
 * acted on. Render `dialog` once.
 */
export function useConfirmedAction<T>({
  act,
  afterwards,
  title,
  confirmLabel,
  warning,
}: {
  act: (subject: T) => Promise<void>;
  afterwards?: (subject: T) => Promise<void>;
  title: (subject: T) => string;
  confirmLabel: string;
  warning: ReactNode | ((subject: T) => ReactNode);
}): { ask: (subject: T) => void; dialog: ReactNode; busy: T | null } {
  const [subject, setSubject] = useState<T | null>(null);
  const [busy, setBusy] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function confirm(s: T) {
    setBusy(s);
    setError(null);
    try {
      await act(s);
      setSubject(null);
      await afterwards?.(s);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  const ask = useCallback((s: T) => {
    setError(null);
    setSubject(s);
  }, []);

  const dialog = (
    <ConfirmDialog
      open={subject !== null}
      title={subject !== null ? title(subject) : ''}
      confirmLabel={confirmLabel}
      busy={busy !== null}
      error={error}
      onConfirm={() => subject !== null && void confirm(subject)}
      onClose={() => {
        setSubject(null);
        setError(null);
      }}
    >
      {typeof warning === 'function' ? subject !== null && warning(subject) : warning}
    </ConfirmDialog>
  );
  return { ask, dialog, busy };
}

/** A form dialog's footer: Cancel, and the submit button, busy while the form is sent. */
export function SaveFooter({
  label,
  busy,
  onCancel,
  disabled,
  danger,
}: {
  label: ReactNode;
  busy: boolean;
  onCancel: () => void;
  disabled?: boolean;
  danger?: boolean;
}) {
  return (
    <>
      <Button variant="secondary" onClick={onCancel}>
        Cancel
      </Button>
      <Button
        type="submit"
        variant={danger ? 'danger' : 'primary'}
        loading={busy}
        disabled={disabled}
      >
        {label}
      </Button>
    </>
  );
}

/** A form in a dialog: Cancel and the submit in its footer, busy while the form is sent. */
function SaveDialog({
  submit,
  busy,
  disabled,
  danger,
  ...dialog
}: Omit<ComponentProps<typeof Dialog>, 'open' | 'footer' | 'onSubmit'> & {
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
  submit: ReactNode;
  busy: boolean;
  disabled?: boolean;
  danger?: boolean;
}) {
  const footer = (
    <SaveFooter
      label={submit}
      busy={busy}
      onCancel={dialog.onClose}
      disabled={disabled}
      danger={danger}
    />
  );
  return <Dialog open footer={footer} {...dialog} />;
}

/**
 * A dialog that is one form (a reason, a password, a code): the form-wide error above the
 * fields, Cancel and the submit (`danger` for an action that cuts something off).
 */
export function FormDialog({
  form,
  children,
  ...dialog
}: {
  title: ReactNode;
  description: ReactNode;
  form: Pick<FormAction, 'busy' | 'formError'>;
  submit: ReactNode;
  danger?: boolean;
  onClose: () => void;
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
  children: ReactNode;
}) {
  return (
    <SaveDialog busy={form.busy} {...dialog}>
      <div className="space-y-4">
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        {children}
      </div>
    </SaveDialog>
  );
}

/** A resource's create-or-edit form in a wide dialog: "New …" or "Edit …", Cancel and save. */
export function EditDialog({
  editing,
  noun,
  createLabel,
  ...dialog
}: {
  /** Editing an existing resource (else creating one). */
  editing: boolean;
  /** "prompt", "voice agent": in the title. */
  noun: string;
  createLabel: string;
  description: ReactNode;
  busy: boolean;
  disabled?: boolean;
  onClose: () => void;
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
  children: ReactNode;
}) {
  return (
    <SaveDialog
      wide
      title={editing ? `Edit ${noun}` : `New ${noun}`}
      submit={editing ? 'Save changes' : createLabel}
      {...dialog}
    />
  );
}
