// The one reader of the sb_csrf cookie (the session's CSRF token): every write echoes it in
// X-CSRF-Token. Read at each use, never cached: a login or org switch in any tab replaces it.

const CSRF_COOKIE = 'sb_csrf';

/** The cookie's value, or '' when the browser holds no session. */
export function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === CSRF_COOKIE) return decodeURIComponent(v.join('='));
  }
  return '';
}
