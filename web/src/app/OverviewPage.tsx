// The first page after logging in: who and where you are, and what to do next.
import type { ReactNode } from 'react';
import { Badge, Card, PageHeader } from '../components/Card.tsx';
import { UsageCard } from '../features/usage/UsageCard.tsx';
import { isOrgAdmin, ROLE_LABELS } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';

function Tile({ to, title, children }: { to: string; title: string; children: ReactNode }) {
  return (
    <Link
      to={to}
      className="block rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 transition hover:ring-indigo-300 focus-visible:outline-2 focus-visible:outline-indigo-600"
    >
      <p className="font-semibold text-slate-900">{title}</p>
      <p className="mt-1 text-sm text-slate-500">{children}</p>
    </Link>
  );
}

export function OverviewPage() {
  const { me } = useSession();
  if (!me) return null;
  const admin = isOrgAdmin(me.role);
  return (
    <>
      <PageHeader
        title={`Welcome, ${me.full_name?.split(' ')[0] || me.email}`}
        description={`You are working in ${me.org.name}.`}
      />
      <div className="space-y-6">
        <Card title="Your account">
          <dl className="grid gap-4 text-sm sm:grid-cols-3">
            <div>
              <dt className="text-slate-500">Organization</dt>
              <dd className="mt-1 font-medium text-slate-900">
                {me.org.name} <Badge>{me.org.kind === 'personal' ? 'Personal' : 'Company'}</Badge>
              </dd>
            </div>
            <div>
              <dt className="text-slate-500">Your role</dt>
              <dd className="mt-1 font-medium text-slate-900">{ROLE_LABELS[me.role]}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Two-factor authentication</dt>
              <dd className="mt-1">
                {me.mfa_enabled ? (
                  <Badge tone="green">On</Badge>
                ) : (
                  <Link
                    to="/app/account"
                    className="text-sm font-semibold text-indigo-600 hover:text-indigo-500"
                  >
                    <Badge tone="amber">Off</Badge> <span className="ml-1">Turn it on</span>
                  </Link>
                )}
              </dd>
            </div>
          </dl>
        </Card>
        <UsageCard />
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          <Tile to="/app/phones" title="Phone numbers">
            The numbers your agents answer and call from.
          </Tile>
          <Tile to="/app/agents" title="Voice agents">
            Who answers each number, and who places your scheduled calls.
          </Tile>
          <Tile to="/app/analytics" title="Analytics">
            Calls by day and hour, answer rates and durations per agent.
          </Tile>
          <Tile to="/app/prompts" title="Prompts">
            The instructions your voice agents follow.
          </Tile>
          <Tile to="/app/org/members" title="Members">
            {admin
              ? 'Invite teammates and manage their roles.'
              : 'See who is in your organization.'}
          </Tile>
          <Tile to="/app/account" title="Security">
            Two-factor authentication, password and your devices.
          </Tile>
          {admin && (
            <>
              <Tile to="/app/org/api-keys" title="API keys">
                Credentials for your agent workers and integrations.
              </Tile>
              <Tile to="/app/org/audit" title="Audit log">
                Every security-relevant event in your organization.
              </Tile>
              <Tile to="/app/org/settings" title="Settings">
                Organization name, two-factor policy and your Twilio account.
              </Tile>
            </>
          )}
        </div>
      </div>
    </>
  );
}
