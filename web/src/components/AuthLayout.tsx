import type { FormEvent, ReactNode } from 'react';
import type { FormAction } from '../lib/forms.ts';
import { Link } from '../lib/router.tsx';
import { Alert } from './Alert.tsx';
import { Button } from './Button.tsx';
import { type FieldValue, TextField } from './Field.tsx';
import { Logo } from './Logo.tsx';

/** The centered card of the public pages (log in, sign up, reset, accept invitation). */
export function AuthLayout({
  title,
  subtitle,
  children,
  footer,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
}) {
  return (
    <div className="flex min-h-full flex-col items-center bg-slate-50 px-4 py-10 sm:py-16">
      <Link
        to="/"
        className="rounded-md text-slate-900 focus-visible:outline-2 focus-visible:outline-offset-4 focus-visible:outline-indigo-600"
      >
        <Logo className="text-lg" />
      </Link>
      <main className="mt-8 w-full max-w-md">
        <div className="rounded-xl bg-white px-5 py-7 shadow-sm ring-1 ring-slate-200 sm:px-8">
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">{title}</h1>
          {subtitle && <p className="mt-1 text-sm text-slate-500">{subtitle}</p>}
          <div className="mt-6">{children}</div>
        </div>
        {footer && <div className="mt-6 text-center text-sm text-slate-600">{footer}</div>}
      </main>
    </div>
  );
}

export const linkClass =
  'font-semibold text-indigo-600 hover:text-indigo-500 rounded-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600';

/**
 * A public page's form: the form-wide error first (with `errorAction`, e.g. a link to log in), then
 * the fields, then the full-width submit, busy while the form is sent.
 */
export function AuthForm({
  onSubmit,
  form,
  errorAction,
  submit,
  children,
}: {
  onSubmit: (e: FormEvent) => void;
  form: Pick<FormAction, 'busy' | 'formError'>;
  errorAction?: ReactNode;
  submit: ReactNode;
  children: ReactNode;
}) {
  return (
    <form noValidate onSubmit={onSubmit} className="space-y-5">
      {form.formError && (
        <Alert tone="error" action={errorAction}>
          {form.formError}
        </Alert>
      )}
      {children}
      <Button type="submit" className="w-full" loading={form.busy}>
        {submit}
      </Button>
    </form>
  );
}

/** The footer of the pages reached from the log in page (forgot, reset). */
export function BackToLogin() {
  return (
    <Link to="/login" className={linkClass}>
      Back to log in
    </Link>
  );
}

/** The optional full name of a new account (sign up, accept invitation). */
export function FullNameField({ value, onChange, error }: FieldValue) {
  return (
    <TextField
      label="Full name"
      name="full_name"
      autoComplete="name"
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
    />
  );
}

/** A blank full name is left out of the request rather than sent empty. */
export function fullNameBody(fullName: string): { full_name?: string } {
  return fullName.trim() ? { full_name: fullName.trim() } : {};
}
