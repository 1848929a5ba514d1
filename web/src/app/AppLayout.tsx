// The logged-in frame: navigation (a sidebar on wide screens, a menu on phones), the org
// switcher, account banners and the page.
import { type ReactNode, useEffect, useId, useState } from 'react';
import { Alert } from '../components/Alert.tsx';
import { Button } from '../components/Button.tsx';
import { Logo } from '../components/Logo.tsx';
import { OrgSwitcher } from '../features/org/OrgSwitcher.tsx';
import { api, errorMessage } from '../lib/api.ts';
import { isOrgAdmin, ROLE_LABELS } from '../lib/format.ts';
import { Link, useLocation, useNavigate } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { useToast } from '../lib/toast.tsx';

interface NavItem {
  to: string;
  label: string;
  admin?: boolean;
  /** The platform superuser only. */
  superuser?: boolean;
}

const NAV: { heading: string; items: NavItem[] }[] = [
  {
    heading: 'Workspace',
    items: [
      { to: '/app', label: 'Overview' },
      { to: '/app/analytics', label: 'Analytics' },
      { to: '/app/calls', label: 'Calls' },
      { to: '/app/messages', label: 'Messages' },
      { to: '/app/conversations', label: 'Conversations' },
      { to: '/app/voice-sessions', label: 'Voice sessions' },
    ],
  },
  {
    heading: 'Agents',
    items: [
      { to: '/app/phones', label: 'Phone numbers' },
      { to: '/app/agents', label: 'Voice agents' },
      { to: '/app/message-agents', label: 'Messaging agents' },
      { to: '/app/prompts', label: 'Prompts' },
      { to: '/app/scheduled-calls', label: 'Scheduled calls' },
      { to: '/app/calling-rules', label: 'Calling rules' },
    ],
  },
  {
    heading: 'Organization',
    items: [
      { to: '/app/org/members', label: 'Members' },
      { to: '/app/org/api-keys', label: 'API keys', admin: true },
      { to: '/app/org/audit', label: 'Audit log', admin: true },
      { to: '/app/org/settings', label: 'Settings', admin: true },
    ],
  },
  { heading: 'Account', items: [{ to: '/app/account', label: 'Security' }] },
  {
    heading: 'Platform',
    items: [{ to: '/app/admin/suspended-orgs', label: 'Suspended orgs', superuser: true }],
  },
];

function Navigation({ onNavigate }: { onNavigate?: () => void }) {
  const { pathname } = useLocation();
  const { me } = useSession();
  const admin = isOrgAdmin(me?.role);
  return (
    <nav aria-label="Dashboard" className="space-y-6">
      {NAV.map((section) => {
        const items = section.items.filter(
          (i) => (!i.admin || admin) && (!i.superuser || me?.is_superuser === true),
        );
        if (items.length === 0) return null;
        return (
          <div key={section.heading}>
            <p className="px-2 text-xs font-semibold uppercase tracking-wider text-slate-600">
              {section.heading}
            </p>
            <ul className="mt-2 space-y-0.5">
              {items.map((item) => {
                const active = pathname === item.to;
                return (
                  <li key={item.to}>
                    <Link
                      to={item.to}
                      onClick={onNavigate}
                      aria-current={active ? 'page' : undefined}
                      className={`block rounded-md px-2 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-indigo-600 ${active ? 'bg-indigo-50 text-indigo-700' : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900'}`}
                    >
                      {item.label}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </div>
        );
      })}
    </nav>
  );
}

function UserBox() {
  const { me, logout } = useSession();
  const navigate = useNavigate();
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  if (!me) return null;
  return (
    <div className="border-t border-slate-200 pt-4">
      <p className="truncate text-sm font-medium text-slate-900">{me.full_name ?? me.email}</p>
      <p className="truncate text-xs text-slate-500">
        {me.email} · {ROLE_LABELS[me.role]}
      </p>
      <Button
        variant="secondary"
        size="sm"
        className="mt-3 w-full"
        loading={busy}
        onClick={async () => {
          setBusy(true);
          await logout();
          toast.success('You are logged out.');
          navigate('/login', { replace: true });
        }}
      >
        Log out
      </Button>
    </div>
  );
}

function AccountBanners() {
  const { me } = useSession();
  const toast = useToast();
  const [sending, setSending] = useState(false);
  if (!me) return null;
  return (
    <div className="space-y-3 empty:hidden">
      {me.mfa_enrollment_required && (
        <Alert tone="warning" title="Your organization requires two-factor authentication">
          Set it up below to unlock the rest of the dashboard.
        </Alert>
      )}
      {!me.email_verified && (
        <Alert
          tone="info"
          title="Please verify your email address"
          action={
            <Button
              size="sm"
              variant="secondary"
              loading={sending}
              onClick={async () => {
                setSending(true);
                try {
                  await api.post('/api/auth/email/resend', { body: {} });
                  toast.success(`We sent a new verification link to ${me.email}.`);
                } catch (err) {
                  toast.error(errorMessage(err));
                } finally {
                  setSending(false);
                }
              }}
            >
              Resend link
            </Button>
          }
        >
          We sent a link to {me.email}.
        </Alert>
      )}
    </div>
  );
}

export function AppLayout({ children }: { children: ReactNode }) {
  const [menuOpen, setMenuOpen] = useState(false);
  const { pathname } = useLocation();
  const menuId = useId();

  useEffect(() => {
    if (pathname) setMenuOpen(false);
  }, [pathname]);

  const sidebar = (
    <div className="flex h-full flex-col gap-6">
      <OrgSwitcher />
      {/* The navigation scrolls when the window is too short for it; the user block stays. */}
      <div className="-mx-1 min-h-0 flex-1 overflow-y-auto px-1">
        <Navigation onNavigate={() => setMenuOpen(false)} />
      </div>
      <UserBox />
    </div>
  );

  return (
    <div className="min-h-full md:flex">
      {/* Its target, <main>, is focusable (tabIndex -1, not in the Tab order): following the
          link focuses it, and the next Tab goes on from the page's content. */}
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:shadow"
      >
        Skip to content
      </a>
      {/* Phones: a top bar with a menu button. */}
      <header className="sticky top-0 z-30 flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3 md:hidden">
        <Link to="/app" className="text-slate-900">
          <Logo />
        </Link>
        <Button
          variant="secondary"
          size="sm"
          aria-expanded={menuOpen}
          aria-controls={menuId}
          onClick={() => setMenuOpen((o) => !o)}
        >
          {menuOpen ? 'Close menu' : 'Menu'}
        </Button>
      </header>
      {menuOpen && (
        <div id={menuId} className="border-b border-slate-200 bg-white px-4 py-4 md:hidden">
          {sidebar}
        </div>
      )}
      {/* Wide screens: a sidebar as tall as the window (its navigation scrolls when it must). */}
      <aside className="hidden w-64 shrink-0 border-r border-slate-200 bg-white px-4 py-5 md:block">
        <div className="sticky top-5 flex h-[calc(100dvh-2.5rem)] flex-col gap-6">
          <Link to="/app" className="px-2 text-slate-900">
            <Logo />
          </Link>
          <div className="min-h-0 flex-1">{sidebar}</div>
        </div>
      </aside>
      <main
        id="main"
        tabIndex={-1}
        className="min-w-0 flex-1 px-4 py-6 outline-none sm:px-6 lg:px-10 lg:py-8"
      >
        <div className="mx-auto max-w-5xl space-y-6">
          <AccountBanners />
          <div>{children}</div>
        </div>
      </main>
    </div>
  );
}
