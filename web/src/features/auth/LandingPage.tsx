// The public front page: what Switchboard is, and the ways in.
import { buttonClass } from '../../components/Button.tsx';
import { Logo } from '../../components/Logo.tsx';
import { Link } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';

const FEATURES = [
  {
    title: 'Identity that holds up to review',
    text: 'Passwords hashed with argon2id, TOTP two-factor with backup codes, rotating refresh tokens, session and device management, and a full audit trail.',
  },
  {
    title: 'Every tenant walled off',
    text: 'Each company works in its own workspace. Isolation is enforced by PostgreSQL row-level security, not only by the code.',
  },
  {
    title: 'Built for voice-AI teams',
    text: 'Invite teammates with roles, issue scoped API keys for your agent workers, and manage the prompts your voice agents speak.',
  },
  {
    title: 'One command to run',
    text: 'API, dashboard and docs on one port with an embedded database — or point it at PostgreSQL and Redis to scale out.',
  },
];

export function LandingPage() {
  const { status } = useSession();
  const signedIn = status === 'authenticated';
  return (
    <div className="min-h-full bg-white">
      <header className="border-b border-slate-100">
        <nav
          aria-label="Main"
          className="mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 py-4 sm:px-6"
        >
          <Logo className="text-lg text-slate-900" />
          <div className="flex items-center gap-2">
            {signedIn ? (
              <Link to="/app" className={buttonClass('primary')}>
                Open dashboard
              </Link>
            ) : (
              <>
                <Link to="/login" className={buttonClass('ghost')}>
                  Log in
                </Link>
                <Link to="/register" className={buttonClass('primary')}>
                  Sign up
                </Link>
              </>
            )}
          </div>
        </nav>
      </header>
      <main>
        <section className="mx-auto max-w-6xl px-4 pt-16 pb-12 sm:px-6 sm:pt-24">
          <p className="text-sm font-semibold uppercase tracking-wider text-indigo-600">
            Identity &amp; control plane for voice AI
          </p>
          <h1 className="mt-3 max-w-3xl text-4xl font-semibold tracking-tight text-slate-900 sm:text-5xl">
            Run your voice-agent business on a secure, multi-tenant foundation.
          </h1>
          <p className="mt-5 max-w-2xl text-lg text-slate-600">
            Switchboard signs up your company, logs your people in with strong authentication, and
            gives every workspace its own phone numbers, agents, prompts and audit log — with an API
            your agent workers can trust.
          </p>
          <div className="mt-8 flex flex-wrap gap-3">
            {signedIn ? (
              <Link to="/app" className={buttonClass('primary')}>
                Go to your dashboard
              </Link>
            ) : (
              <>
                <Link to="/register" className={buttonClass('primary')}>
                  Create your workspace
                </Link>
                <Link to="/login" className={buttonClass('secondary')}>
                  Log in
                </Link>
              </>
            )}
            <a href="/docs" className={buttonClass('ghost')}>
              API reference
            </a>
          </div>
        </section>
        <section aria-labelledby="features-title" className="border-t border-slate-100 bg-slate-50">
          <div className="mx-auto max-w-6xl px-4 py-14 sm:px-6">
            <h2 id="features-title" className="text-xl font-semibold text-slate-900">
              What you get
            </h2>
            <ul className="mt-6 grid gap-5 sm:grid-cols-2">
              {FEATURES.map((f) => (
                <li
                  key={f.title}
                  className="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200"
                >
                  <h3 className="font-semibold text-slate-900">{f.title}</h3>
                  <p className="mt-1.5 text-sm leading-relaxed text-slate-600">{f.text}</p>
                </li>
              ))}
            </ul>
          </div>
        </section>
      </main>
      <footer className="border-t border-slate-100">
        <div className="mx-auto flex max-w-6xl flex-wrap justify-between gap-2 px-4 py-6 text-xs text-slate-500 sm:px-6">
          <span>Switchboard</span>
          <span>
            <a href="/docs" className="hover:text-slate-700">
              API docs
            </a>{' '}
            ·{' '}
            <a href="/openapi.json" className="hover:text-slate-700">
              OpenAPI
            </a>
          </span>
        </div>
      </footer>
    </div>
  );
}
