// The password rules as the user types (NIST SP 800-63B: length, not common, not personal; no
// composition rules). A hint only: the server judges, and its field errors are shown as well.

export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 128;

function length(text: string): number {
  return [...text.normalize('NFKC')].length;
}

function containsIdentifier(password: string, email?: string, name?: string): boolean {
  const p = password.normalize('NFKC').toLowerCase();
  if (!p) return false;
  const ids: string[] = [];
  const e = (email ?? '').trim().toLowerCase();
  if (e) ids.push(e, e.split('@')[0] ?? '');
  const n = (name ?? '').trim().toLowerCase();
  if (n) ids.push(n, ...n.split(/\s+/));
  return ids.some((id) => id.length >= 4 && p.includes(id));
}

type State = 'met' | 'unmet' | 'pending';

export function PasswordRules({
  password,
  email,
  name,
}: {
  password: string;
  email?: string;
  name?: string;
}) {
  const n = length(password);
  const rules: { text: string; state: State }[] = [
    { text: `At least ${PASSWORD_MIN} characters`, state: n >= PASSWORD_MIN ? 'met' : 'unmet' },
    {
      text: `At most ${PASSWORD_MAX} characters`,
      state: n > 0 && n <= PASSWORD_MAX ? 'met' : n > PASSWORD_MAX ? 'unmet' : 'pending',
    },
    {
      text: 'Does not contain your email or name',
      state: n === 0 ? 'pending' : containsIdentifier(password, email, name) ? 'unmet' : 'met',
    },
    { text: 'Not a commonly used password (checked when you submit)', state: 'pending' },
  ];
  return (
    <ul aria-label="Password rules" className="mt-1 space-y-0.5">
      {rules.map((r) => (
        <li
          key={r.text}
          className={`flex items-center gap-1.5 ${r.state === 'met' ? 'text-emerald-700' : r.state === 'unmet' && n > 0 ? 'text-red-600' : 'text-slate-500'}`}
        >
          <span aria-hidden="true" className="inline-block w-3 text-center">
            {r.state === 'met' ? '✓' : r.state === 'unmet' && n > 0 ? '✕' : '•'}
          </span>
          <span>{r.text}</span>
          <span className="sr-only">
            {r.state === 'met' ? ' (met)' : r.state === 'unmet' && n > 0 ? ' (not met)' : ''}
          </span>
        </li>
      ))}
      <li className="text-slate-500">
        A long phrase of random words is easy to remember and hard to guess.
      </li>
    </ul>
  );
}
