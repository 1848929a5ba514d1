// The page behind the verification link in the welcome mail. The link alone verifies an address
// that is verified already or whose account has no password; a never-verified account with a
// password also needs that password (whoever signed up with the address chose it, and it must
// not outlive the proof of the mailbox unless its owner is that person). Someone who did not sign
// up is sent to "forgot password", whose link proves the address and replaces the password.
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { AuthLayout, linkClass } from '../../components/AuthLayout.tsx';
import { Button } from '../../components/Button.tsx';
import { CurrentPasswordField } from '../../components/PasswordFields.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { ApiError, api, errorMessage } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useLinkToken } from '../../lib/link-token.ts';
import { Link } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';
import { useStateTitle } from '../../lib/title.ts';

type State =
  | { kind: 'working' }
  | { kind: 'password' }
  | { kind: 'done' }
  /** The link is not valid (unknown, expired, used, or no token at all). */
  | { kind: 'failed'; message: string }
  /** The check itself failed (no answer, the server's error, too many attempts): try again. */
  | { kind: 'error'; message: string };

/** Each state's h1, which is also its document title. */
const TITLES: Record<State['kind'], string> = {
  working: 'Verifying your email',
  password: 'Verify your email',
  done: 'Your email address is verified',
  failed: 'This verification link is not valid',
  error: 'Could not verify your email',
};

/** The server asks for the sign-up password: a 400 whose field errors name `password`. */
const asksForPassword = (err: unknown) =>
  err instanceof ApiError && err.status === 400 && 'password' in err.fields;

const deadLink = (err: unknown) => err instanceof ApiError && err.code === 'invalid_token';

/** What a failed verification means for the page: the password step, a dead link, or an error. */
function failedState(err: unknown): State {
  if (asksForPassword(err)) return { kind: 'password' };
  return { kind: deadLink(err) ? 'failed' : 'error', message: errorMessage(err) };
}

export function VerifyEmailPage() {
  const token = useLinkToken();
  const session = useSession();
  const [state, setState] = useState<State>(
    token ? { kind: 'working' } : { kind: 'failed', message: 'The link has no token.' },
  );
  const [password, setPassword] = useState('');
  const started = useRef(false);
  const form = useFormAction({
    onError: (err) => {
      if (deadLink(err)) {
        setState({ kind: 'failed', message: errorMessage(err) });
        return null;
      }
      return undefined;
    },
  });

  const verified = useCallback(() => {
    setState({ kind: 'done' });
    // The first proof of the address signs out every session, this one too: reload learns it.
    if (session.status === 'authenticated') void session.reload();
  }, [session]);

  const check = useCallback(
    (link: string) => {
      setState({ kind: 'working' });
      api
        .post('/api/auth/email/verify', { body: { token: link }, noRefresh: true })
        .then(verified)
        .catch((err) => setState(failedState(err)));
    },
    [verified],
  );

  useEffect(() => {
    // Once, even under React's development double-invocation: the token is single-use.
    if (!token || started.current) return;
    started.current = true;
    check(token);
  }, [token, check]);

  useStateTitle(TITLES[state.kind]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await form.run(async () => {
      await api.post('/api/auth/email/verify', {
        body: { token: token ?? '', password },
        noRefresh: true,
      });
      return true;
    });
    if (ok) verified();
  }

  const onward = session.status === 'authenticated' ? '/app' : '/login';
  return (
    <AuthLayout title={TITLES[state.kind]}>
      {state.kind === 'working' && <Loading label="Verifying your email address…" />}
      {state.kind === 'password' && (
        <form noValidate onSubmit={submit} className="space-y-5">
          <p className="text-sm text-slate-700">
            This account was created with a password. Enter the password you chose when you signed
            up to confirm that this address and the account are both yours.
          </p>
          <Alert
            tone="info"
            title="Did not sign up yourself?"
            action={
              <Link to="/forgot-password" className={linkClass}>
                Forgot password
              </Link>
            }
          >
            Someone else may have signed up with your address. Use “forgot password”: the link we
            mail you proves the address is yours, lets you choose a new password and signs everyone
            else out.
          </Alert>
          {form.formError && <Alert tone="error">{form.formError}</Alert>}
          <CurrentPasswordField
            value={password}
            onChange={setPassword}
            error={form.fieldErrors.password}
          />
          <Button type="submit" className="w-full" loading={form.busy}>
            Verify email address
          </Button>
        </form>
      )}
      {state.kind === 'done' && (
        <Alert
          tone="success"
          action={
            <Link to={onward} className={linkClass}>
              {session.status === 'authenticated' ? 'Go to your dashboard' : 'Log in'}
            </Link>
          }
        >
          Thank you. To keep the account yours, every session that was open on it before has been
          signed out: log in again.
        </Alert>
      )}
      {state.kind === 'failed' && (
        <Alert tone="error">{state.message} You can ask for a new link from your dashboard.</Alert>
      )}
      {state.kind === 'error' && (
        <Alert
          tone="error"
          action={
            <Button variant="secondary" size="sm" onClick={() => token && check(token)}>
              Try again
            </Button>
          }
        >
          {state.message} If the link no longer works, ask for a new one from your dashboard.
        </Alert>
      )}
    </AuthLayout>
  );
}
