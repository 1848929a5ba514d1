// Log in: email and password, then — when the account has MFA — a second step that takes the
// 6-digit code from the authenticator app or one of the backup codes.
import { type ChangeEvent, type FormEvent, useEffect, useRef, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { AuthLayout, linkClass } from '../../components/AuthLayout.tsx';
import { Button } from '../../components/Button.tsx';
import { EmailField, TextField } from '../../components/Field.tsx';
import { CurrentPasswordField } from '../../components/PasswordFields.tsx';
import { ApiError, api, waitText } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';
import { Link, safeNext, useNavigate, useSearchParam } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';

/** The kill switch: the org was suspended by the platform or locked down by its owner. */
const ORG_SUSPENDED =
  'Your organization has been suspended or locked down: nothing in it works until the platform operator resumes it. If you belong to other organizations, log in to reach them.';

/** The server's MFA step lives 5 minutes; the page says so a little before. */
const MFA_STEP_MS = 5 * 60_000 - 5_000;

type Step = { kind: 'password' } | { kind: 'mfa'; token: string; methods: string[]; at: number };

function useCountdown(): [number, (seconds: number | null) => void] {
  const [left, setLeft] = useState(0);
  useEffect(() => {
    if (left <= 0) return;
    const t = setTimeout(() => setLeft((s) => s - 1), 1000);
    return () => clearTimeout(t);
  }, [left]);
  return [left, (s) => setLeft(s ?? 0)];
}

export function LoginPage() {
  const session = useSession();
  const navigate = useNavigate();
  const next = safeNext(useSearchParam('next'));
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [notice, setNotice] = useState<string | null>(
    session.orgSuspended
      ? ORG_SUSPENDED
      : session.endedUnexpectedly
        ? 'Your session has ended. Please log in again.'
        : null,
  );
  const [lockedFor, setLockedFor] = useCountdown();

  const form = useFormAction({
    onError: (err) => {
      if (err instanceof ApiError && err.status === 429) {
        setLockedFor(err.retryAfter ?? 60);
        return `Too many attempts. ${waitText(err.retryAfter)}`;
      }
      if (err instanceof ApiError && err.code === 'invalid_credentials') {
        return 'Email or password is incorrect.';
      }
      if (err instanceof ApiError && err.code === 'org_suspended') return ORG_SUSPENDED;
      if (err instanceof ApiError && err.code === 'email_not_verified') {
        return 'Please confirm your email address first: follow the link we sent you.';
      }
      return undefined;
    },
  });

  async function finish(tokens: { expires_in?: number }) {
    await session.signedIn({ expires_in: tokens.expires_in ?? 900 });
    navigate(next, { replace: true });
  }

  async function submitPassword(e: FormEvent) {
    e.preventDefault();
    setNotice(null);
    // Finishing (the dashboard loading the user, then navigating) is part of the run: the form
    // stays busy until the page changes, so nobody sends it twice.
    const r = await form.run(async () => {
      const answer = await api.post('/api/auth/login', {
        body: { email, password },
        noRefresh: true,
      });
      if (!('mfa_required' in answer)) await finish(answer);
      return answer;
    });
    if (r && 'mfa_required' in r) {
      setStep({ kind: 'mfa', token: r.mfa_token, methods: r.methods, at: Date.now() });
    }
  }

  if (step.kind === 'mfa') {
    return (
      <MfaStep
        step={step}
        onDone={finish}
        onRestart={(message) => {
          setStep({ kind: 'password' });
          setPassword('');
          setNotice(message);
        }}
      />
    );
  }

  return (
    <AuthLayout
      title="Log in to Switchboard"
      subtitle="Welcome back."
      footer={
        <>
          New here?{' '}
          <Link to="/register" className={linkClass}>
            Create an account
          </Link>
        </>
      }
    >
      <form noValidate onSubmit={submitPassword} className="space-y-5">
        {notice && <Alert tone="info">{notice}</Alert>}
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        <EmailField
          autoComplete="username"
          value={email}
          onChange={setEmail}
          error={form.fieldErrors.email}
        />
        <CurrentPasswordField
          value={password}
          onChange={setPassword}
          error={form.fieldErrors.password}
        />
        <div className="flex justify-end text-sm">
          <Link to="/forgot-password" className={linkClass}>
            Forgot your password?
          </Link>
        </div>
        <Button type="submit" className="w-full" loading={form.busy} disabled={lockedFor > 0}>
          {lockedFor > 0 ? `Try again in ${lockedFor} s` : 'Log in'}
        </Button>
      </form>
    </AuthLayout>
  );
}

function MfaStep({
  step,
  onDone,
  onRestart,
}: {
  step: Extract<Step, { kind: 'mfa' }>;
  onDone: (tokens: { expires_in?: number }) => Promise<void>;
  onRestart: (message: string) => void;
}) {
  const [mode, setMode] = useState<'totp' | 'backup'>('totp');
  const [code, setCode] = useState('');
  const [lockedFor, setLockedFor] = useCountdown();
  const inputRef = useRef<HTMLInputElement>(null);
  const backupAllowed = step.methods.includes('backup_code');

  const expired = () =>
    onRestart('Your sign-in step expired. Enter your password again to get a new one.');

  useEffect(() => {
    const t = setTimeout(expired, Math.max(0, step.at + MFA_STEP_MS - Date.now()));
    return () => clearTimeout(t);
  });

  const form = useFormAction({
    onError: (err) => {
      if (!(err instanceof ApiError)) return undefined;
      if (err.status === 429) {
        setLockedFor(err.retryAfter ?? 60);
        return `Too many wrong codes. Sign-in is locked for now. ${waitText(err.retryAfter)}`;
      }
      if (err.code === 'invalid_mfa_token') {
        expired();
        return null;
      }
      if (err.code === 'invalid_credentials') {
        // The password was changed or reset while this sign-in was under way: its step is spent.
        onRestart('Your password was changed. Sign in again with the new one.');
        return null;
      }
      if (err.code === 'mfa_code_reused' || err.code === 'code_reused') {
        return 'That code was already used. Wait for your app to show the next one, then enter it.';
      }
      if (err.code === 'invalid_mfa' || err.code === 'invalid_code') {
        return mode === 'totp'
          ? 'That code is not right. Check the time on your device and try the newest code.'
          : 'That backup code is not valid or was already used.';
      }
      return undefined;
    },
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const value = code.trim();
    const body =
      mode === 'totp'
        ? { mfa_token: step.token, code: value.replace(/\s+/g, '') }
        : { mfa_token: step.token, backup_code: value };
    // onDone inside the run: the form stays busy until the page changes, and a spent code is
    // never sent again.
    const r = await form.run(async () => {
      const tokens = await api.post('/api/auth/mfa/verify', { body, noRefresh: true });
      await onDone(tokens);
      return tokens;
    });
    if (!r) {
      setCode('');
      inputRef.current?.focus();
    }
  }

  /** The one code input, as an authenticator code or a backup code (the server names either). */
  const codeInput = (name: 'code' | 'backup_code') => ({
    ref: inputRef,
    name,
    autoFocus: true,
    required: true,
    value: code,
    onChange: (e: ChangeEvent<HTMLInputElement>) => setCode(e.target.value),
    error: form.fieldErrors[name],
  });

  return (
    <AuthLayout
      title="Two-factor authentication"
      subtitle={
        mode === 'totp'
          ? 'Enter the 6-digit code from your authenticator app.'
          : 'Enter one of the backup codes you saved when you set up two-factor authentication. Each works once.'
      }
      footer={
        <button
          type="button"
          className={linkClass}
          onClick={() => onRestart('Log in again to start over.')}
        >
          Start over
        </button>
      }
    >
      <form noValidate onSubmit={submit} className="space-y-5">
        {form.formError && <Alert tone="error">{form.formError}</Alert>}
        {mode === 'totp' ? (
          <TextField
            key="totp"
            {...codeInput('code')}
            label="Authentication code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]*"
            maxLength={7}
            className="[&_input]:text-center [&_input]:font-mono [&_input]:text-lg [&_input]:tracking-[0.4em]"
          />
        ) : (
          <TextField
            key="backup"
            {...codeInput('backup_code')}
            label="Backup code"
            autoComplete="off"
            spellCheck={false}
            className="[&_input]:font-mono"
          />
        )}
        <Button
          type="submit"
          className="w-full"
          loading={form.busy}
          disabled={lockedFor > 0 || code.trim() === ''}
        >
          {lockedFor > 0 ? `Locked — try again in ${lockedFor} s` : 'Verify'}
        </Button>
        {backupAllowed && (
          <div className="text-center text-sm">
            <button
              type="button"
              className={linkClass}
              onClick={() => {
                setMode(mode === 'totp' ? 'backup' : 'totp');
                setCode('');
                form.reset();
              }}
            >
              {mode === 'totp' ? 'Use a backup code instead' : 'Use your authenticator app instead'}
            </button>
          </div>
        )}
      </form>
    </AuthLayout>
  );
}
