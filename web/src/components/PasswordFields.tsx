// A new password's inputs: the browser may offer a generated one (autocomplete new-password), the
// rules preview as the user types, and — where the user types it twice — the two must match before
// anything is sent. The server stays the judge of the rules.
import { type ReactNode, useState } from 'react';
import { type FieldValue, TextField } from './Field.tsx';
import { PasswordRules } from './PasswordRules.tsx';

interface PasswordInput extends FieldValue {
  label: string;
  name: string;
}

function PasswordField({
  onChange,
  ...input
}: PasswordInput & { autoComplete: string; hint?: ReactNode }) {
  return (
    <TextField type="password" required onChange={(e) => onChange(e.target.value)} {...input} />
  );
}

export function NewPasswordField({
  email,
  personName,
  ...input
}: PasswordInput & {
  /** Personal information the password should not contain (previewed only). */
  email?: string;
  personName?: string;
}) {
  return (
    <PasswordField
      autoComplete="new-password"
      hint={<PasswordRules password={input.value} email={email} name={personName} />}
      {...input}
    />
  );
}

/** The password the user already has: the browser's password manager may fill it in. */
export function CurrentPasswordField({
  label = 'Password',
  name = 'password',
  ...input
}: Omit<PasswordInput, 'label' | 'name'> & { label?: string; name?: string }) {
  return <PasswordField autoComplete="current-password" label={label} name={name} {...input} />;
}

/** The new password typed twice: `matches()` on submit flags a mismatch under the second input. */
export function useNewPassword() {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  return {
    password,
    setPassword,
    confirm,
    setConfirm,
    mismatch,
    matches(): boolean {
      setMismatch(password !== confirm);
      return password === confirm;
    },
    clear() {
      setPassword('');
      setConfirm('');
    },
  };
}

export function ConfirmPasswordField({
  value,
  onChange,
  mismatch,
}: Omit<FieldValue, 'error'> & { mismatch: boolean }) {
  return (
    <TextField
      label="Confirm new password"
      type="password"
      name="confirm_password"
      autoComplete="new-password"
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={mismatch ? 'The two passwords are not the same.' : null}
    />
  );
}

/** A new password typed twice (`next` from useNewPassword), sent as `new_password`. */
export function NewPasswordTwiceFields({
  next,
  error,
  email,
  personName,
}: {
  next: ReturnType<typeof useNewPassword>;
  error: string | undefined;
  /** Personal information the password should not contain (previewed only). */
  email?: string;
  personName?: string;
}) {
  return (
    <>
      <NewPasswordField
        label="New password"
        name="new_password"
        value={next.password}
        onChange={next.setPassword}
        error={error}
        email={email}
        personName={personName}
      />
      <ConfirmPasswordField
        value={next.confirm}
        onChange={next.setConfirm}
        mismatch={next.mismatch}
      />
    </>
  );
}
