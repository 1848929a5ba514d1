// Who is logged in: the current user, org and role (GET /auth/me), shared by every page. The
// session itself is the server's HttpOnly cookies; this only mirrors what the server says.
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { ApiError, api, type ResponseOf } from './api.ts';
import {
  hasSessionCookie,
  onSessionEnded,
  type Renewal,
  renewSession,
  sessionEnded,
  sessionStarted,
} from './session-refresh.ts';

export type Me = ResponseOf<'/auth/me', 'get'>;
/**
 * `unreachable`: the first read of the session kept failing for a passing reason (no answer, a
 * 5xx, a rate limit), so whether anyone is logged in is not known; only a 401/403 says no one is.
 */
type Status = 'loading' | 'anonymous' | 'authenticated' | 'unreachable';

interface SessionValue {
  status: Status;
  me: Me | null;
  /** Re-read /auth/me (after a profile, MFA or org change). */
  reload(): Promise<Me | null>;
  /** After an answer that set session cookies (login, register, MFA, invitation, org switch). */
  signedIn(tokens: { expires_in: number }): Promise<Me | null>;
  logout(options?: { everywhere?: boolean }): Promise<void>;
  /**
   * While `unreachable`: the first read once more (renewing the session first, as on a page load).
   * Resolves false when it failed for a passing reason again (the status stays `unreachable`).
   */
  retry(): Promise<boolean>;
  /** While `unreachable`: go on as if logged out (to the login form); the cookies are kept. */
  continueLoggedOut(): void;
  /** Set when the server ended the session (expired, revoked elsewhere); cleared on login. */
  endedUnexpectedly: boolean;
  /** Set when the session ended because its org was suspended or locked down; cleared on login. */
  orgSuspended: boolean;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>('loading');
  const [me, setMe] = useState<Me | null>(null);
  const [endedUnexpectedly, setEndedUnexpectedly] = useState(false);
  const [orgSuspended, setOrgSuspended] = useState(false);
  const loggingOut = useRef(false);

  // The last answer of /auth/me, for a re-read that fails for a passing reason.
  const known = useRef<Me | null>(null);
  /**
   * One read of /auth/me: the person, or whether it failed for good (the server's refusal, 401 or
   * 403, says the session is over) or for a passing reason (no answer, a 5xx, a rate limit).
   */
  const readMe = useCallback(async (): Promise<Me | 'refused' | 'failed'> => {
    try {
      const m = await api.get('/auth/me', { noRefresh: true });
      known.current = m;
      setMe(m);
      setStatus('authenticated');
      return m;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'org_suspended') setOrgSuspended(true);
      return err instanceof ApiError && (err.status === 401 || err.status === 403)
        ? 'refused'
        : 'failed';
    }
  }, []);
  /**
   * A read of /auth/me after a renewal: when the renewal could not reach the server, a 401 only
   * says the access cookie expired, not that the session ended (its refresh token may be alive),
   * so it is a passing failure too.
   */
  const readAfter = useCallback(
    async (renewal: Renewal) => {
      const r = await readMe();
      return r === 'refused' && renewal === 'unreachable' ? 'failed' : r;
    },
    [readMe],
  );
  const loggedOut = useCallback(() => {
    known.current = null;
    setMe(null);
    setStatus('anonymous');
  }, []);
  const loadMe = useCallback(async (): Promise<Me | null> => {
    const r = await readMe();
    if (typeof r === 'object') return r;
    // A passing failure keeps a session already known as it was (one transient error while
    // re-reading after a save must not put the person out of the dashboard).
    if (r === 'failed' && known.current) return known.current;
    loggedOut();
    return null;
  }, [readMe, loggedOut]);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      // No sb_csrf cookie: no session to resume, so no request at all.
      if (!hasSessionCookie()) {
        setStatus('anonymous');
        return;
      }
      // The access cookie's expiry is unknown to a fresh page: renew first, which also tells us.
      // If renewing failed for a passing reason (rate limit, network), the access cookie may
      // still be good: /auth/me decides, and each try again renews again first.
      // A first read that fails for a passing reason is tried again (after 0.5, 1 and 2 s) before
      // the page gives up on the session: one blip must not show a logged-in person the login
      // form.
      let renewal: Renewal | undefined;
      let r: Awaited<ReturnType<typeof readMe>> = 'failed';
      for (const wait of [500, 1000, 2000, null]) {
        if (cancelled) return;
        if (renewal !== 'renewed' && renewal !== 'ended') renewal = await renewSession();
        r = await readAfter(renewal);
        if (typeof r === 'object') return;
        if (r === 'refused' || wait === null) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      // Only the server's refusal says no one is logged in; after passing failures the page says
      // it cannot reach Switchboard (and offers to try again) rather than show the login form.
      if (!cancelled) {
        if (r === 'refused') loggedOut();
        else setStatus('unreachable');
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [readAfter, loggedOut]);

  useEffect(
    () =>
      onSessionEnded((reason) => {
        known.current = null;
        setMe(null);
        setStatus('anonymous');
        if (!loggingOut.current) setEndedUnexpectedly(true);
        if (reason === 'org_suspended') setOrgSuspended(true);
      }),
    [],
  );

  const signedIn = useCallback(
    async (tokens: { expires_in: number }) => {
      sessionStarted(tokens.expires_in);
      setEndedUnexpectedly(false);
      setOrgSuspended(false);
      // New tokens (a login, an org switch): what was known of the old ones says nothing now.
      known.current = null;
      return loadMe();
    },
    [loadMe],
  );

  const logout = useCallback(async (options: { everywhere?: boolean } = {}) => {
    loggingOut.current = true;
    try {
      await api.post(options.everywhere ? '/api/auth/logout-all' : '/api/auth/logout', {});
    } catch {
      // Already logged out on the server: the local state is cleared either way.
    } finally {
      sessionEnded();
      known.current = null;
      setMe(null);
      setStatus('anonymous');
      loggingOut.current = false;
    }
  }, []);

  const retry = useCallback(async (): Promise<boolean> => {
    // The access cookie may have expired while Switchboard was out of reach: renew it first, as
    // the page load does, or /auth/me would answer 401 for a session that is still alive.
    const r = await readAfter(await renewSession());
    if (r === 'refused') loggedOut();
    return r !== 'failed';
  }, [readAfter, loggedOut]);

  const value = useMemo<SessionValue>(
    () => ({
      status,
      me,
      reload: loadMe,
      signedIn,
      logout,
      retry,
      continueLoggedOut: loggedOut,
      endedUnexpectedly,
      orgSuspended,
    }),
    [status, me, loadMe, signedIn, logout, retry, loggedOut, endedUnexpectedly, orgSuspended],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
