// What a page shows when the first read of the session kept failing for a passing reason (no
// answer, a 5xx, a rate limit): Switchboard could not say who is logged in, which is not saying
// that no one is. The login form there would tell a logged-in person they were logged out.
import { useEffect, useState } from 'react';
import { Alert } from '../components/Alert.tsx';
import { AuthLayout } from '../components/AuthLayout.tsx';
import { Button } from '../components/Button.tsx';
import { useSession } from '../lib/session.tsx';
import { documentTitle } from '../lib/title.ts';

const TITLE = 'Switchboard cannot be reached right now';

/**
 * The state's own heading and alert, "Try again" (the first read once more: on success the page
 * asked for appears) and `leave`: on as if logged out (the login form, or the public page).
 */
export function SessionUnreachable({ leave }: { leave: string }) {
  const { retry, continueLoggedOut } = useSession();
  const [busy, setBusy] = useState(false);
  // When a try again last failed: the alert's words change, so it is announced again, while the
  // alert and its button stay (a new one would drop the keyboard focus on the page's body).
  const [failedAt, setFailedAt] = useState<string | null>(null);

  // The document title names the state. Routes sets the route's title only when the path changes,
  // so when the state goes on the same path (tried again, logged in) the route's comes back here;
  // after a move elsewhere Routes has already set the new one, which stays.
  useEffect(() => {
    const before = document.title;
    const mine = documentTitle(TITLE);
    document.title = mine;
    return () => {
      if (document.title === mine) document.title = before;
    };
  }, []);

  async function tryAgain() {
    setBusy(true);
    const done = await retry();
    // Done: the session is known (or over) and this state is gone.
    if (done) return;
    setBusy(false);
    setFailedAt(new Date().toLocaleTimeString());
  }

  return (
    <AuthLayout title={TITLE}>
      <div className="space-y-5">
        <Alert
          tone="error"
          title={failedAt ? `Still out of reach (tried again at ${failedAt}).` : undefined}
          action={
            <Button variant="secondary" size="sm" loading={busy} onClick={() => void tryAgain()}>
              Try again
            </Button>
          }
        >
          This page could not check who is logged in: Switchboard did not answer, or answered with
          an error. Your session was not ended: try again in a moment.
        </Alert>
        <Button variant="ghost" className="w-full" onClick={continueLoggedOut}>
          {leave}
        </Button>
      </div>
    </AuthLayout>
  );
}
