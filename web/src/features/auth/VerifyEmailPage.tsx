// The page behind the verification link in the welcome mail. The link alone verifies an address
// that is verified already or whose account has no password; a never-verified account with a
// password also needs that password (whoever signed up with the address chose it, and it must
// not outlive the proof of the mailbox unless its owner is that person). Someone who did not sign
// up is sent to "forgot password", whose link proves the address and replaces the password.
// A spent link is not the last word: the answer of the attempt that spent it may have been lost
// (then "Try again" finds it spent). Logged in, the session says whether the address is verified;
// logged out, nothing can be known, and the page says what the link being spent may mean. A link
// that verifies says whether it signed this page's session out, as it learns from the session.
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
  /** `spent`: the server's answer for a spent link, while the session is asked about the address. */
  | { kind: 'working'; spent?: string }
  | { kind: 'password' }
  /**
   * `already`: the link was spent, and the session (still open) says the address is verified.
   * Otherwise this visit verified it, and `sessions` says what became of the page's session: the
   * first proof of an address ends every session ('ended'), a later one keeps them ('kept'); a
   * logged-out page cannot tell ('unknown'). Undefined while the session is asked.
   */
  | { kind: 'done'; already?: boolean; sessions?: 'kept' | 'ended' | 'unknown' }
  /**
   * The link is not valid (unknown, expired, used, or no token at all). `spent`: the server said
   * so, and then either no session could say whether the address is verified ('logged-out'; a
   * used link verified it) or the session says it is not ('unverified').
   */
  | { kind: 'failed'; message: string; spent?: 'logged-out' | 'unverified' }
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
  if (deadLink(err)) return { kind: 'working', spent: errorMessage(err) };
  return { kind: 'error', message: errorMessage(err) };
}

/** A sentence of the server's, ended with a full stop before the page's own words. */
const sentence = (message: string) => (/[.!?]$/.test(message) ? message : `${message}.`);

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
        setState({ kind: 'working', spent: errorMessage(err) });
        return null;
      }
      return undefined;
    },
  });

  const verified = useCallback(() => setState({ kind: 'done' }), []);

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

  // A spent link: an attempt whose answer was lost (or another tab, or an earlier visit) may have
  // verified the address. Once the session is known, a logged-in page reads the account again.
  const spent = state.kind === 'working' && state.spent !== undefined ? state : null;
  const { status, reload } = session;
  useEffect(() => {
    if (spent?.spent === undefined || status === 'loading') return;
    const message = spent.spent;
    if (status === 'anonymous') {
      setState({ kind: 'failed', message, spent: 'logged-out' });
      return;
    }
    let current = true;
    // The session may have ended meanwhile (the first proof of an address ends them all): then
    // nothing is known, as when logged out.
    reload().then((me) => {
      if (!current) return;
      if (me?.email_verified) setState({ kind: 'done', already: true });
      else setState({ kind: 'failed', message, spent: me ? 'unverified' : 'logged-out' });
    });
    return () => {
      current = false;
    };
  }, [spent, status, reload]);

  // Verified by this visit: the first proof of the address signed out every session, this one
  // too, and an address verified before (by a password reset, say) kept them. Once the session
  // is known, a logged-in page reads the account again to learn which; the text says no more
  // than that answer.
  const asking = state.kind === 'done' && !state.already && state.sessions === undefined;
  useEffect(() => {
    if (!asking || status === 'loading') return;
    if (status === 'anonymous') {
      setState({ kind: 'done', sessions: 'unknown' });
      return;
    }
    let current = true;
    // Only a 401 says the session ended; any other failure (no answer, a 503) says nothing, and
    // then the session is left as it is.
    api
      .get('/auth/me', { noRefresh: true })
      .then(
        () => 'kept' as const,
        (err: unknown) =>
          err instanceof ApiError && err.status === 401 ? ('ended' as const) : ('unknown' as const),
      )
      .then((sessions) => {
        if (!current) return;
        setState({ kind: 'done', sessions });
        // The session learns it too: the address is verified, or the session is gone.
        if (sessions !== 'unknown') void reload();
      });
    return () => {
      current = false;
    };
  }, [asking, status, reload]);

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
      {state.kind === 'done' && state.already && (
        <Alert
          tone="success"
          action={
            <Link to={onward} className={linkClass}>
              {session.status === 'authenticated' ? 'Go to your dashboard' : 'Log in'}
            </Link>
          }
        >
          Your address is verified. This link was used already: it works only once.
        </Alert>
      )}
      {asking && <Loading label="Checking your session…" />}
      {state.kind === 'done' && state.sessions === 'kept' && (
        <Alert
          tone="success"
          action={
            <Link to={onward} className={linkClass}>
              Go to your dashboard
            </Link>
          }
        >
          Thank you: your address is verified.
        </Alert>
      )}
      {state.kind === 'done' && state.sessions === 'unknown' && (
        <Alert
          tone="success"
          action={
            <Link to={onward} className={linkClass}>
              Log in
            </Link>
          }
        >
          Thank you: your address is verified. If it had not been verified before, every session
          that was open on the account has been signed out, to keep the account yours.
        </Alert>
      )}
      {state.kind === 'done' && state.sessions === 'ended' && (
        <Alert
          tone="success"
          action={
            <Link to="/login" className={linkClass}>
              Log in
            </Link>
          }
        >
          Thank you. To keep the account yours, every session that was open on it before has been
          signed out: log in again.
        </Alert>
      )}
      {state.kind === 'failed' && state.spent === 'logged-out' && (
        <Alert
          tone="error"
          action={
            <Link to="/login" className={linkClass}>
              Log in
            </Link>
          }
        >
          {sentence(state.message)} If you used it already, your address is verified: log in. If
          not, ask for a new link from your dashboard.
        </Alert>
      )}
      {state.kind === 'failed' && state.spent !== 'logged-out' && (
        <Alert tone="error">
          {sentence(state.message)} You can ask for a new link from your dashboard.
        </Alert>
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
