// Form fields: every input has a visible <label>, its hint and error are linked with
// aria-describedby, and a server error marks it aria-invalid.
import {
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
  useId,
} from 'react';

const INPUT =
  'block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600 focus:outline-hidden disabled:bg-slate-50 disabled:text-slate-500 aria-[invalid=true]:ring-red-500';

interface FieldShell {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | null;
}

function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

function Messages({ id, hint, error }: { id: string; hint?: ReactNode; error?: string | null }) {
  return (
    <>
      {hint && (
        <div id={`${id}-hint`} className="mt-1.5 text-xs text-slate-500">
          {hint}
        </div>
      )}
      {error && (
        <p id={`${id}-error`} className="mt-1.5 text-xs font-medium text-red-600">
          {error}
        </p>
      )}
    </>
  );
}

type FrameProps = FieldShell & { id?: string; className?: string };

/**
 * The label, the control and its messages: `props` are a field's, the frame takes its label, hint,
 * error, id and class and hands the rest to `control` with the id and aria links to spread.
 */
function FieldFrame<P extends FrameProps>({
  props: { label, hint, error, id: givenId, className = '', ...rest },
  control,
}: {
  props: P;
  control: (
    aria: { id: string; 'aria-invalid': true | undefined; 'aria-describedby': string | undefined },
    rest: Omit<P, keyof FrameProps>,
  ) => ReactNode;
}) {
  const autoId = useId();
  const id = givenId ?? autoId;
  return (
    <div className={className}>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <div className="mt-1.5">
        {control(
          {
            id,
            'aria-invalid': error ? true : undefined,
            'aria-describedby': describedBy(id, hint, error),
          },
          rest,
        )}
      </div>
      <Messages id={id} hint={hint} error={error} />
    </div>
  );
}

export function TextField(
  props: FieldShell & InputHTMLAttributes<HTMLInputElement> & { ref?: Ref<HTMLInputElement> },
) {
  return (
    <FieldFrame
      props={props}
      control={(aria, input) => <input {...aria} className={INPUT} {...input} />}
    />
  );
}

export function TextAreaField(props: FieldShell & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <FieldFrame
      props={props}
      control={(aria, input) => (
        <textarea {...aria} className={`${INPUT} font-mono leading-relaxed`} {...input} />
      )}
    />
  );
}

export function SelectField(props: FieldShell & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldFrame
      props={props}
      control={(aria, { children, ...select }) => (
        <select {...aria} className={`${INPUT} pr-8`} {...select}>
          {children}
        </select>
      )}
    />
  );
}

export function CheckboxField({
  label,
  hint,
  id: givenId,
  className = '',
  ...input
}: { label: ReactNode; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const autoId = useId();
  const id = givenId ?? autoId;
  return (
    <div className={`flex gap-3 ${className}`}>
      <div className="flex h-6 items-center">
        <input
          id={id}
          type="checkbox"
          className="size-4 rounded border-slate-300 text-indigo-600 accent-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-600"
          aria-describedby={hint ? `${id}-hint` : undefined}
          {...input}
        />
      </div>
      <div className="text-sm leading-6">
        <label htmlFor={id} className="font-medium text-slate-800">
          {label}
        </label>
        {hint && (
          <p id={`${id}-hint`} className="text-xs text-slate-500">
            {hint}
          </p>
        )}
      </div>
    </div>
  );
}

/** A resource's Active checkbox (a phone, an agent); `hint` says what being active does. */
export function ActiveField({
  checked,
  onChange,
  hint,
}: {
  checked: boolean;
  onChange: (active: boolean) => void;
  hint: string;
}) {
  return (
    <CheckboxField
      label="Active"
      name="active"
      checked={checked}
      onChange={(e) => onChange(e.target.checked)}
      hint={hint}
    />
  );
}

/** What a field of one text value takes: the value, its change (the new text) and the server's error. */
export interface FieldValue {
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
}

/** A resource's name: required, at most 200 characters like the server's schema. */
export function NameField({ value, onChange, error }: FieldValue) {
  return (
    <TextField
      label="Name"
      name="name"
      required
      maxLength={200}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
    />
  );
}

/** An email address, required; `autoComplete` says whose (the user's, a login, or off for someone else's). */
export function EmailField({
  label = 'Email',
  name = 'email',
  autoComplete,
  value,
  onChange,
  error,
  className,
}: FieldValue & {
  label?: string;
  name?: string;
  autoComplete: 'email' | 'username' | 'off';
  className?: string;
}) {
  return (
    <TextField
      label={label}
      type="email"
      name={name}
      autoComplete={autoComplete}
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
      className={className}
    />
  );
}

/** The current code from the user's authenticator app (six digits; the caller strips spaces). */
export function AuthCodeField({
  label = 'Authentication code',
  hint,
  value,
  onChange,
  error,
}: FieldValue & { label?: string; hint?: ReactNode }) {
  return (
    <TextField
      label={label}
      name="code"
      inputMode="numeric"
      autoComplete="one-time-code"
      maxLength={7}
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
      hint={hint}
      className="max-w-48 [&_input]:font-mono [&_input]:tracking-widest"
    />
  );
}
