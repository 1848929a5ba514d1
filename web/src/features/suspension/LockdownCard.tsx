// The owner's "we were breached" button (POST /api/orgs/current/lockdown): a card on the org
// settings page that opens a dialog asking for the reason, the password and — with two-factor
// authentication on — a current code. Everyone's session ends with it, this one too: the page
// then shows the log-in page with the reason it ended.
import { useState } from 'react';
import { Button } from '../../components/Button.tsx';
import { Card } from '../../components/Card.tsx';
import { FormDialog } from '../../components/Dialog.tsx';
import { AuthCodeField } from '../../components/Field.tsx';
import { CurrentPasswordField } from '../../components/PasswordFields.tsx';
import { ApiError, api } from '../../lib/api.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useSession } from '../../lib/session.tsx';
import { sessionEnded } from '../../lib/session-refresh.ts';
import { ReasonField } from './ReasonField.tsx';

function LockdownDialog({ mfa, onClose }: { mfa: boolean; onClose: () => void }) {
  const form = useFormAction({
    onError: (err) => {
      if (!(err instanceof ApiError)) return undefined;
      if (err.code === 'invalid_credentials') return 'Your password is not right.';
      if (err.code === 'invalid_code') return 'That code is not right. Enter the current code.';
      if (err.code === 'code_reused') return 'That code was already used. Wait for the next one.';
      return undefined;
    },
  });
  const reason = useFormField(form, 'reason');
  const password = useFormField(form, 'password');
  const code = useFormField(form, 'code');
  return (
    <FormDialog
      title="Lock down this organization?"
      description="Every session ends (yours too), API keys stop working, device sockets and voice rooms are cut, live calls are hung up, phone numbers answer “not in service” and scheduled calls wait. Only the platform operator can resume it."
      form={form}
      submit="Lock down"
      danger
      onClose={onClose}
      onSubmit={async () => {
        const ok = await form.run(async () => {
          await api.post('/api/orgs/current/lockdown', {
            body: {
              reason: reason.value.trim(),
              password: password.value,
              ...(mfa ? { code: code.value.replace(/\s+/g, '') } : {}),
            },
          });
          return true;
        });
        if (ok) sessionEnded('org_suspended');
      }}
    >
      <ReasonField
        input={reason.input}
        multiline
        hint="Kept in the audit log and shown to the platform operator."
      />
      <CurrentPasswordField {...password.field} />
      {mfa && (
        <AuthCodeField
          {...code.field}
          hint="The current 6-digit code from your authenticator app (not a backup code)."
        />
      )}
    </FormDialog>
  );
}

/** Shown to owners only (the server refuses everyone else anyway). */
export function LockdownCard() {
  const { me } = useSession();
  const [open, setOpen] = useState(false);
  if (me?.role !== 'owner') return null;
  return (
    <div className="mt-6">
      <Card
        title="Lock down"
        id="org-lockdown"
        description="If you think this organization was breached, cut it off on every channel at once. Only the platform operator can resume it; sessions never come back."
        actions={
          <Button variant="danger" onClick={() => setOpen(true)}>
            Lock down…
          </Button>
        }
      />
      {open && <LockdownDialog mfa={me.mfa_enabled} onClose={() => setOpen(false)} />}
    </div>
  );
}
