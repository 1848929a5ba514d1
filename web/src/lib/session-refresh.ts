// Silent session refresh. The access token (HttpOnly cookie, ~15 min) is renewed before it
// expires with POST /api/auth/refresh, which rotates the refresh token. Tabs share the cookies,
// so they coordinate: a Web Lock lets one tab refresh at a time, and a BroadcastChannel tells the
// others the new expiry (or that the session ended). Nothing here is ever written to storage.

import { csrfToken } from './csrf.ts';

const CHANNEL = 'switchboard-session';

/** Why the server ended the session, when it said: `org_suspended` (the kill switch). */
export type EndReason = 'org_suspended';

type Message = { type: 'refreshed'; expiresAt: number } | { type: 'ended'; reason?: EndReason };

let timer: ReturnType<typeof setTimeout> | undefined;
let dueAt = 0;
let lastRefreshAt = 0;
let inflight: Promise<Renewal> | null = null;
const endedListeners = new Set<(reason?: EndReason) => void>();
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);

channel?.addEventListener('message', (event: MessageEvent<Message>) => {
  const m = event.data;
  if (m?.type === 'refreshed') {
    lastRefreshAt = Date.now();
    schedule(m.expiresAt);
  } else if (m?.type === 'ended') {
    stop();
    for (const l of endedListeners) l(m.reason);
  }
});

if (typeof document !== 'undefined') {
  // Timers sleep in background tabs and suspended laptops: catch up when the tab is seen again.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && dueAt && Date.now() >= dueAt) {
      void refreshSession();
    }
  });
}

/** True when the browser holds a session's cookies (sb_csrf lives as long as the refresh token). */
export function hasSessionCookie(): boolean {
  return csrfToken() !== '';
}

function schedule(expiresAt: number) {
  if (timer) clearTimeout(timer);
  const ttl = Math.max(0, expiresAt - Date.now());
  // Renew a minute early (or at half-life for very short tokens).
  const delay = Math.max(1_000, ttl - 60_000, ttl / 2);
  dueAt = Date.now() + delay;
  timer = setTimeout(() => void refreshSession(), delay);
}

function stop() {
  if (timer) clearTimeout(timer);
  timer = undefined;
  dueAt = 0;
}

/** Call with `expires_in` of a login, register, MFA or org-switch answer. */
export function sessionStarted(expiresInSeconds: number) {
  const expiresAt = Date.now() + expiresInSeconds * 1000;
  lastRefreshAt = Date.now();
  schedule(expiresAt);
  channel?.postMessage({ type: 'refreshed', expiresAt } satisfies Message);
}

/** After logout (here or because the server said so): stop and tell the other tabs. */
export function sessionEnded(reason?: EndReason) {
  stop();
  channel?.postMessage({ type: 'ended', reason } satisfies Message);
  for (const l of endedListeners) l(reason);
}

export function onSessionEnded(listener: (reason?: EndReason) => void): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How a renewal ended: `renewed` (the cookies hold a live access token), `unreachable` (no answer,
 * a 5xx or a rate limit: the session may well be alive, the access cookie perhaps expired) or
 * `ended` (the server's 401/403: the session is over).
 */
export type Renewal = 'renewed' | 'unreachable' | 'ended';

async function refreshOnce(requestedAt: number): Promise<Renewal> {
  // Another tab renewed the shared cookies while this one waited for the lock: nothing to do.
  if (lastRefreshAt > requestedAt) return 'renewed';
  let res: Response;
  try {
    res = await fetch('/api/auth/refresh', {
      method: 'POST',
      headers: { accept: 'application/json', 'x-csrf-token': csrfToken() },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    // Offline: try again in a while, the session may well still be alive.
    schedule(Date.now() + 120_000);
    return 'unreachable';
  }
  if (res.ok) {
    const body = (await res.json()) as { expires_in: number };
    sessionStarted(body.expires_in);
    return 'renewed';
  }
  if (res.status === 409) {
    // refresh_in_progress: a concurrent request (another tab) rotated the token; its answer
    // carries the new cookies, which this tab shares. Give it a moment to land.
    await sleep(400);
    lastRefreshAt = Date.now();
    schedule(Date.now() + 60_000);
    return 'renewed';
  }
  if (res.status === 429 || res.status >= 500) {
    schedule(Date.now() + 30_000);
    return 'unreachable';
  }
  // 401/403: the session is over (expired, revoked, logged out elsewhere, token reused).
  stop();
  return 'ended';
}

/** Renew the session now; resolves true when the cookies hold a live access token. */
export function refreshSession(): Promise<boolean> {
  return renewSession().then((r) => r === 'renewed');
}

/** Renew the session now, telling a passing failure apart from the session's end. */
export function renewSession(): Promise<Renewal> {
  if (!inflight) {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    // The lock callback's promise is what request() resolves with.
    const requestedAt = Date.now();
    const run = locks
      ? (locks.request('switchboard-refresh', () =>
          refreshOnce(requestedAt),
        ) as unknown as Promise<Renewal>)
      : refreshOnce(requestedAt);
    inflight = run.finally(() => {
      inflight = null;
    });
  }
  return inflight;
}
