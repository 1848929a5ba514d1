// Account settings: two-factor authentication, password, sessions, audio devices, and the
// preferences your voice agents remember.
import { useState } from 'react';
import { PageHeader } from '../../components/Card.tsx';
import { useSession } from '../../lib/session.tsx';
import { DevicesSection } from './DevicesSection.tsx';
import { MfaSection } from './MfaSection.tsx';
import { PasswordSection } from './PasswordSection.tsx';
import { PreferencesSection } from './PreferencesSection.tsx';
import { SessionsSection } from './SessionsSection.tsx';

export function SecurityPage() {
  const { me } = useSession();
  // A password change ends the other sessions: the list reloads.
  const [sessionsVersion, setSessionsVersion] = useState(0);
  return (
    <>
      <PageHeader
        title="Account security"
        description={me ? `Signed in as ${me.email}.` : undefined}
      />
      <div className="space-y-6">
        <MfaSection />
        {!me?.mfa_enrollment_required && (
          <>
            <PasswordSection onChanged={() => setSessionsVersion((v) => v + 1)} />
            <SessionsSection version={sessionsVersion} />
            <DevicesSection />
            <PreferencesSection />
          </>
        )}
      </div>
    </>
  );
}
