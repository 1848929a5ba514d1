// The org's own Twilio account (owners and admins): which account is in use, a form to set it,
// and removal. The auth token is write-only: never pre-filled, cleared after saving.
import { type FormEvent, useCallback, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card } from '../../components/Card.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { ApiError, api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useLoad } from '../../lib/load.ts';
import { useToast } from '../../lib/toast.tsx';

type Credentials = ResponseOf<'/api/twilio/credentials', 'get'>;

/** The server states the schema's patterns; say what they mean. */
function friendly(fields: Record<string, string>): Record<string, string> {
  const out = { ...fields };
  if (out.account_sid?.includes('pattern')) {
    out.account_sid = 'An account SID is AC followed by 32 hexadecimal characters.';
  }
  if (out.auth_token?.includes('pattern')) {
    out.auth_token = 'An auth token is 16 to 128 letters and digits.';
  }
  return out;
}

function Status({ creds }: { creds: Credentials }) {
  if (creds.source === 'org') {
    return (
      <Alert tone="success" title="Using your own Twilio account">
        Account <span className="font-mono break-all">{creds.account_sid}</span>
        {creds.updated_at && `, saved ${formatDateTime(creds.updated_at)}`}.
      </Alert>
    );
  }
  if (creds.source === 'platform') {
    return (
      <Alert title="Using the platform's Twilio account">
        Add your own account below to place and receive calls with it.
      </Alert>
    );
  }
  return (
    <Alert tone="warning" title="No Twilio account is set up">
      Add your Twilio account below to place and receive calls.
    </Alert>
  );
}

export function TwilioCredentialsCard() {
  const toast = useToast();
  const [accountSid, setAccountSid] = useState('');
  // Every answer (the first, and the one after a removal) seeds the account SID input.
  const {
    data: creds,
    error: loadError,
    reload,
    setData: setCreds,
  } = useLoad(
    useCallback(async () => {
      const c = await api.get('/api/twilio/credentials');
      setAccountSid(c.account_sid ?? '');
      return c;
    }, []),
  );
  const [authToken, setAuthToken] = useState('');
  const [removing, setRemoving] = useState(false);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const form = useFormAction();
  const errors = { ...friendly(form.fieldErrors), ...localErrors };

  async function save(e: FormEvent) {
    e.preventDefault();
    const sid = accountSid.trim();
    const token = authToken.trim();
    const missing: Record<string, string> = {};
    if (!sid) missing.account_sid = 'Enter the account SID.';
    if (!token) missing.auth_token = 'Enter the auth token.';
    setLocalErrors(missing);
    if (Object.keys(missing).length > 0) {
      form.reset();
      return;
    }
    const saved = await form.run(() =>
      api.put('/api/twilio/credentials', { body: { account_sid: sid, auth_token: token } }),
    );
    if (!saved) return;
    // Write-only: once saved, the token leaves the page.
    setAuthToken('');
    setCreds(saved);
    setAccountSid(saved.account_sid ?? '');
    toast.success('Twilio account saved.');
  }

  async function remove() {
    setRemoveBusy(true);
    try {
      await api.delete('/api/twilio/credentials');
      toast.success('Twilio credentials removed.');
    } catch (err) {
      // Already removed (e.g. in another tab): the reload below shows the current state.
      if (!(err instanceof ApiError && err.status === 404)) toast.error(errorMessage(err));
    } finally {
      setRemoveBusy(false);
      setRemoving(false);
      form.reset();
      setLocalErrors({});
      setAuthToken('');
      await reload();
    }
  }

  const configured = creds?.source === 'org';

  return (
    <>
      <form noValidate onSubmit={save} autoComplete="off" className="mt-6">
        <Card
          title="Twilio account"
          id="twilio-account"
          description="Your organization's calls can go through your own Twilio account. The auth token is stored encrypted and is never shown again."
          footer={
            creds && (
              <>
                {configured && (
                  <Button variant="secondary" onClick={() => setRemoving(true)}>
                    Remove credentials
                  </Button>
                )}
                <Button type="submit" loading={form.busy}>
                  Save credentials
                </Button>
              </>
            )
          }
        >
          {loadError ? (
            <Alert tone="error">{loadError}</Alert>
          ) : !creds ? (
            <Loading label="Loading Twilio account…" />
          ) : (
            <div className="space-y-6">
              <Status creds={creds} />
              {form.formError && <Alert tone="error">{form.formError}</Alert>}
              <div className="grid max-w-2xl gap-4 sm:grid-cols-2">
                <TextField
                  label="Account SID"
                  name="account_sid"
                  required
                  autoComplete="off"
                  spellCheck={false}
                  placeholder="AC…"
                  className="[&_input]:font-mono"
                  value={accountSid}
                  onChange={(e) => setAccountSid(e.target.value)}
                  error={errors.account_sid}
                  hint="Starts with AC, from the Twilio console."
                />
                <TextField
                  label="Auth token"
                  name="auth_token"
                  type="password"
                  required
                  autoComplete="off"
                  spellCheck={false}
                  className="[&_input]:font-mono"
                  value={authToken}
                  onChange={(e) => setAuthToken(e.target.value)}
                  error={errors.auth_token}
                  hint={
                    configured
                      ? 'Enter the token again to change the account.'
                      : 'Write-only: it is never shown again.'
                  }
                />
              </div>
            </div>
          )}
        </Card>
      </form>
      <ConfirmDialog
        open={removing}
        title="Remove your Twilio credentials?"
        confirmLabel="Remove credentials"
        busy={removeBusy}
        onConfirm={() => void remove()}
        onClose={() => setRemoving(false)}
      >
        Switchboard stops using your Twilio account and deletes the stored auth token. Calls then go
        through the platform's Twilio account, if there is one.
      </ConfirmDialog>
    </>
  );
}
