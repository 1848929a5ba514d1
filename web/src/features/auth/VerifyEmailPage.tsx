// The page behind the verification link in the welcome mail.
import { useEffect, useRef, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { AuthLayout, linkClass } from '../../components/AuthLayout.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { api, errorMessage } from '../../lib/api.ts';
import { useLinkToken } from '../../lib/link-token.ts';
import { Link } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';

type State = { kind: 'working' } | { kind: 'done' } | { kind: 'failed'; message: string };

export function VerifyEmailPage() {
  const token = useLinkToken();
  const session = useSession();
  const [state, setState] = useState<State>(
    token ? { kind: 'working' } : { kind: 'failed', message: 'The link has no token.' },
  );
  const started = useRef(false);

  useEffect(() => {
    // Once, even under React's development double-invocation: the token is single-use.
    if (!token || started.current) return;
    started.current = true;
    api
      .post('/api/auth/email/verify', { body: { token }, noRefresh: true })
      .then(() => {
        setState({ kind: 'done' });
        // The first proof of the address signs out every session, this one too: reload learns it.
        if (session.status === 'authenticated') void session.reload();
      })
      .catch((err) => setState({ kind: 'failed', message: errorMessage(err) }));
  }, [token, session]);

  const onward = session.status === 'authenticated' ? '/app' : '/login';
  return (
    <AuthLayout title="Verify your email">
      {state.kind === 'working' && <Loading label="Verifying your email address…" />}
      {state.kind === 'done' && (
        <Alert
          tone="success"
          title="Your email address is verified"
          action={
            <Link to={onward} className={linkClass}>
              {session.status === 'authenticated' ? 'Go to your dashboard' : 'Log in'}
            </Link>
          }
        >
          Thank you. To keep the account yours, every session that was open on it has been signed
          out: log in again.
        </Alert>
      )}
      {state.kind === 'failed' && (
        <Alert tone="error" title="This verification link is not valid">
          {state.message} You can ask for a new link from your dashboard.
        </Alert>
      )}
    </AuthLayout>
  );
}
