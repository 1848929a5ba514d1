// The one reader of the sb_csrf cookie (double-submit CSRF defence): every write echoes it in
// X-CSRF-Token. Read at each use, never cached: a refresh in any tab rotates it.

const CSRF_COOKIE = 'sb_csrf';

/** The cookie's value, or '' when the browser holds no session. */
export function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === CSRF_COOKIE) return decodeURIComponent(v.join('='));
  }
  return '';
}
