// A connection URL (DATABASE_URL, REDIS_URL) as it may be shown to an operator (a start-up
// error, a warning): never its password, in the user info or in a query parameter that looks
// like one. (Request URLs in the access log are redacted by logger.ts redactUrl: their tokens,
// on the hot path.)

/** `url` without its password (user info and a `password`/`secret`/`key` query parameter). */
export function redactConnectionUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a valid URL)';
  }
  if (parsed.password) parsed.password = '';
  for (const name of [...parsed.searchParams.keys()]) {
    if (/pass|secret|key/i.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString();
}
