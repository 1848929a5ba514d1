// Which page a URL shows. Public pages first; everything under /app needs a session.
import { type ReactNode, useLayoutEffect } from 'react';
import { Loading } from '../components/Spinner.tsx';
import { SecurityPage } from '../features/account/SecurityPage.tsx';
import { AgentsPage } from '../features/agents/AgentsPage.tsx';
import { AnalyticsPage } from '../features/analytics/AnalyticsPage.tsx';
import { ApiKeysPage } from '../features/api-keys/ApiKeysPage.tsx';
import { AuditPage } from '../features/audit/AuditPage.tsx';
import { ForgotPasswordPage } from '../features/auth/ForgotPasswordPage.tsx';
import { LandingPage } from '../features/auth/LandingPage.tsx';
import { LoginPage } from '../features/auth/LoginPage.tsx';
import { RegisterPage } from '../features/auth/RegisterPage.tsx';
import { ResetPasswordPage } from '../features/auth/ResetPasswordPage.tsx';
import { VerifyEmailPage } from '../features/auth/VerifyEmailPage.tsx';
import { CallingRulesPage } from '../features/calling-rules/CallingRulesPage.tsx';
import { CallsPage } from '../features/calls/CallsPage.tsx';
import { ConversationsPage } from '../features/conversations/ConversationsPage.tsx';
import { AcceptInvitePage } from '../features/invitations/AcceptInvitePage.tsx';
import { InvitationsPanel } from '../features/invitations/InvitationsPanel.tsx';
import { MembersPage } from '../features/members/MembersPage.tsx';
import { MessageAgentsPage } from '../features/message-agents/MessageAgentsPage.tsx';
import { MessagesPage } from '../features/messages/MessagesPage.tsx';
import { OrgSettingsPage } from '../features/org/OrgSettingsPage.tsx';
import { PhonesPage } from '../features/phones/PhonesPage.tsx';
import { PromptsPage } from '../features/prompts/PromptsPage.tsx';
import { ScheduledCallsPage } from '../features/scheduled-calls/ScheduledCallsPage.tsx';
import { LockdownCard } from '../features/suspension/LockdownCard.tsx';
import { SuspendedOrgsPage } from '../features/suspension/SuspendedOrgsPage.tsx';
import { VoiceSessionsPage } from '../features/voice-sessions/VoiceSessionsPage.tsx';
import { isOrgAdmin } from '../lib/format.ts';
import { Redirect, useLocation } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { documentTitle } from '../lib/title.ts';
import { AppLayout } from './AppLayout.tsx';
import { NoAccess, NotFound } from './NotFound.tsx';
import { OverviewPage } from './OverviewPage.tsx';
import { SessionUnreachable } from './SessionUnreachable.tsx';

/**
 * Each page's own name, the first part of its document title (`Calls · Switchboard`): one entry
 * per route, set in one place (usePageTitle below), so a page added here cannot go untitled.
 */
interface PageEntry {
  title: string;
  page: () => ReactNode;
}

const PUBLIC: Record<string, PageEntry> = {
  '/': { title: 'Voice-AI control plane', page: () => <LandingPage /> },
  '/login': { title: 'Log in', page: () => <LoginPage /> },
  '/register': { title: 'Sign up', page: () => <RegisterPage /> },
  '/forgot-password': { title: 'Forgot password', page: () => <ForgotPasswordPage /> },
  '/reset-password': { title: 'Choose a new password', page: () => <ResetPasswordPage /> },
  '/verify-email': { title: 'Verify your email', page: () => <VerifyEmailPage /> },
  '/accept-invite': { title: 'Accept invitation', page: () => <AcceptInvitePage /> },
};

/**
 * Pages for a logged-in user; `admin` ones only for owners and admins, `superuser` ones only for
 * the platform superuser (the API agrees).
 */
const APP: Record<string, PageEntry & { admin?: boolean; superuser?: boolean }> = {
  '/app': { title: 'Overview', page: () => <OverviewPage /> },
  '/app/phones': { title: 'Phone numbers', page: () => <PhonesPage /> },
  '/app/agents': { title: 'Voice agents', page: () => <AgentsPage /> },
  '/app/message-agents': { title: 'Messaging agents', page: () => <MessageAgentsPage /> },
  '/app/prompts': { title: 'Prompts', page: () => <PromptsPage /> },
  '/app/scheduled-calls': { title: 'Scheduled calls', page: () => <ScheduledCallsPage /> },
  '/app/calling-rules': { title: 'Calling rules', page: () => <CallingRulesPage /> },
  '/app/calls': { title: 'Calls', page: () => <CallsPage /> },
  '/app/conversations': { title: 'Conversations', page: () => <ConversationsPage /> },
  '/app/messages': { title: 'Messages', page: () => <MessagesPage /> },
  '/app/analytics': { title: 'Analytics', page: () => <AnalyticsPage /> },
  '/app/voice-sessions': { title: 'Voice sessions', page: () => <VoiceSessionsPage /> },
  '/app/account': { title: 'Account security', page: () => <SecurityPage /> },
  '/app/org/members': {
    title: 'Members',
    page: () => (
      <MembersPage>
        <InvitationsPanel />
      </MembersPage>
    ),
  },
  '/app/org/api-keys': { title: 'API keys', page: () => <ApiKeysPage />, admin: true },
  '/app/org/audit': { title: 'Audit log', page: () => <AuditPage />, admin: true },
  '/app/org/settings': {
    title: 'Organization settings',
    page: () => (
      <OrgSettingsPage>
        <LockdownCard />
      </OrgSettingsPage>
    ),
    admin: true,
  },
  '/app/admin/suspended-orgs': {
    title: 'Suspended organizations',
    page: () => <SuspendedOrgsPage />,
    superuser: true,
  },
};

const NOT_FOUND_TITLE = 'Page not found';

/** The document title of the page at `path`: `<page> · Switchboard`. */
function routeTitle(path: string): string {
  const entry = PUBLIC[path] ?? APP[path];
  return documentTitle(entry?.title ?? NOT_FOUND_TITLE);
}

/**
 * A layout effect: it runs before the page's effects, so a page that names its state
 * (useStateTitle, e.g. a dead verification link) has the last word, on its first render too.
 */
function usePageTitle(path: string) {
  useLayoutEffect(() => {
    document.title = routeTitle(path);
  }, [path]);
}

/** Where a user whose org requires MFA must go before anything else. */
const ENROLMENT_PAGE = '/app/account';

export function Routes() {
  const { pathname, search } = useLocation();
  const session = useSession();
  const path = pathname.replace(/\/+$/, '') || '/';
  usePageTitle(path);

  const pub = PUBLIC[path];
  if (pub) {
    // Waiting for the session avoids flashing the log-in form to a logged-in user.
    if (session.status === 'loading' && path !== '/') return <Loading />;
    // Nor, when the session could not be read, the log-in form (or a logged-out page) as if there
    // were none.
    if (session.status === 'unreachable' && path !== '/') {
      return (
        <SessionUnreachable
          leave={path === '/login' ? 'Go to the login form' : 'Continue logged out'}
        />
      );
    }
    if (session.status === 'authenticated' && (path === '/login' || path === '/register')) {
      return <Redirect to="/app" />;
    }
    return <>{pub.page()}</>;
  }

  if (path === '/app' || path.startsWith('/app/')) {
    if (session.status === 'loading') return <Loading label="Loading your workspace…" />;
    // Not known to be logged out: no redirect to the log-in form unless the person asks for it.
    if (session.status === 'unreachable') {
      return <SessionUnreachable leave="Go to the login form" />;
    }
    if (session.status === 'anonymous' || !session.me) {
      return <Redirect to={`/login?next=${encodeURIComponent(pathname + search)}`} />;
    }
    const route = APP[path];
    let content: ReactNode;
    if (!route) content = <NotFound />;
    else if (session.me.mfa_enrollment_required && path !== ENROLMENT_PAGE) {
      content = <Redirect to={ENROLMENT_PAGE} />;
    } else if (route.admin && !isOrgAdmin(session.me.role)) content = <NoAccess />;
    else if (route.superuser && !session.me.is_superuser) content = <NoAccess />;
    else content = route.page();
    return <AppLayout key={session.me.org.id}>{content}</AppLayout>;
  }

  return <NotFound standalone />;
}
