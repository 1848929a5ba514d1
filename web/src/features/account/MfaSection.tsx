// Two-factor authentication: set up with a QR code (or the key typed by hand), confirm with a
// code, get backup codes; later regenerate the codes or turn MFA off (password and code).
import { type FormEvent, type ReactNode, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Badge, Card } from '../../components/Card.tsx';
import { CopyableSecret } from '../../components/CopyButton.tsx';
import { FormDialog } from '../../components/Dialog.tsx';
import { AuthCodeField } from '../../components/Field.tsx';
import { CurrentPasswordField } from '../../components/PasswordFields.tsx';
import { ApiError, api, type ResponseOf } from '../../lib/api.ts';
import { type FormAction, useFormAction } from '../../lib/forms.ts';
import { useSession } from '../../lib/session.tsx';
import { refreshSession } from '../../lib/session-refresh.ts';
import { useToast } from '../../lib/toast.tsx';
import { BackupCodes } from './BackupCodes.tsx';

type Setup = ResponseOf<'/api/auth/mfa/setup', 'post'>;

const wrongCode = (err: unknown) => {
  if (!(err instanceof ApiError)) return undefined;
  if (err.code === 'code_reused' || err.code === 'mfa_code_reused')
    return 'That code was already used. Wait for your app to show the next one, then enter it.';
  if (err.code === 'invalid_code' || err.code === 'invalid_mfa')
    return 'That code is not right. Enter the current 6-digit code from your app.';
  return undefined;
};

function SetupFlow({
  onCancel,
  onEnabled,
}: {
  onCancel: () => void;
  onEnabled: (codes: string[]) => void;
}) {
  const [setup, setSetup] = useState<Setup | null>(null);
  const [code, setCode] = useState('');
  const start = useFormAction();
  const confirm = useFormAction({ onError: wrongCode });

  async function begin() {
    const s = await start.run(() => api.post('/api/auth/mfa/setup', {}));
    if (s) setSetup(s);
  }

  async function enable(e: FormEvent) {
    e.preventDefault();
    const r = await confirm.run(() =>
      api.post('/api/auth/mfa/enable', { body: { code: code.replace(/\s+/g, '') } }),
    );
    if (r) onEnabled(r.backup_codes);
  }

  if (!setup) {
    return (
      <div className="space-y-4">
        {start.formError && <Alert tone="error">{start.formError}</Alert>}
        <p className="text-sm text-slate-600">
          You need an authenticator app such as Google Authenticator, Microsoft Authenticator, Authy
          or 1Password.
        </p>
        <div className="flex gap-2">
          <Button onClick={() => void begin()} loading={start.busy}>
            Continue
          </Button>
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </div>
    );
  }

  return (
    <form noValidate onSubmit={enable} className="space-y-6">
      <ol className="space-y-6 text-sm text-slate-700">
        <li>
          <p className="font-medium text-slate-900">
            1. Scan this QR code with your authenticator app
          </p>
          <img
            src={setup.qr_code}
            alt="QR code to scan with your authenticator app"
            width={184}
            height={184}
            className="mt-3 rounded-lg bg-white p-2 ring-1 ring-slate-200"
          />
        </li>
        <li>
          <p className="font-medium text-slate-900">Or enter this key by hand</p>
          <CopyableSecret
            label="Secret key"
            labelClassName="sr-only"
            value={setup.secret}
            what="Secret key copied"
            className="mt-2 flex max-w-md gap-2"
            inputClassName="tracking-wider"
          />
          <p className="mt-1 text-xs text-slate-500">Time-based, 6 digits, every 30 seconds.</p>
        </li>
        <li>
          <p className="mb-2 font-medium text-slate-900">2. Enter the 6-digit code the app shows</p>
          {confirm.formError && (
            <div className="mb-3">
              <Alert tone="error">{confirm.formError}</Alert>
            </div>
          )}
          <AuthCodeField
            label="Verification code"
            value={code}
            onChange={setCode}
            error={confirm.fieldErrors.code}
          />
        </li>
      </ol>
      <div className="flex gap-2">
        <Button type="submit" loading={confirm.busy}>
          Turn on two-factor authentication
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

/**
 * A change to two-factor authentication confirmed with a code from the app (and, before it,
 * `children`: any other field). `send(code)` gets the code without spaces.
 */
function CodeConfirmDialog({
  title,
  description,
  submit,
  danger,
  form,
  send,
  onClose,
  children,
}: {
  title: string;
  description: string;
  submit: string;
  danger?: boolean;
  form: FormAction;
  send: (code: string) => Promise<void>;
  onClose: () => void;
  children?: ReactNode;
}) {
  const [code, setCode] = useState('');
  return (
    <FormDialog
      title={title}
      description={description}
      form={form}
      submit={submit}
      danger={danger}
      onClose={onClose}
      onSubmit={() => send(code.replace(/\s+/g, ''))}
    >
      {children}
      <AuthCodeField value={code} onChange={setCode} error={form.fieldErrors.code} />
    </FormDialog>
  );
}

function RegenerateDialog({
  onClose,
  onCodes,
}: {
  onClose: () => void;
  onCodes: (c: string[]) => void;
}) {
  const form = useFormAction({ onError: wrongCode });
  return (
    <CodeConfirmDialog
      title="New backup codes"
      description="Your current backup codes stop working. Confirm with a code from your authenticator app."
      submit="Generate new codes"
      form={form}
      send={async (code) => {
        const r = await form.run(() => api.post('/api/auth/mfa/backup-codes', { body: { code } }));
        if (r) onCodes(r.backup_codes);
      }}
      onClose={onClose}
    />
  );
}

function DisableDialog({ onClose, onDisabled }: { onClose: () => void; onDisabled: () => void }) {
  const [password, setPassword] = useState('');
  const form = useFormAction({
    onError: (err) =>
      err instanceof ApiError && err.code === 'invalid_credentials'
        ? 'Your password is not right.'
        : wrongCode(err),
  });
  return (
    <CodeConfirmDialog
      title="Turn off two-factor authentication?"
      description="Your account will be protected by your password alone. Confirm with your password and a code."
      submit="Turn off"
      danger
      form={form}
      send={async (code) => {
        const ok = await form.run(async () => {
          await api.post('/api/auth/mfa/disable', { body: { password, code } });
          return true;
        });
        if (ok) onDisabled();
      }}
      onClose={onClose}
    >
      <CurrentPasswordField
        value={password}
        onChange={setPassword}
        error={form.fieldErrors.password}
      />
    </CodeConfirmDialog>
  );
}

type Mode = 'idle' | 'setup' | 'regenerate' | 'disable' | { codes: string[] };

export function MfaSection() {
  const session = useSession();
  const toast = useToast();
  const [mode, setMode] = useState<Mode>('idle');
  const me = session.me;
  if (!me) return null;
  const on = me.mfa_enabled;

  return (
    <Card
      id="mfa"
      title={
        <span className="flex items-center gap-2">
          Two-factor authentication
          {on ? <Badge tone="green">On</Badge> : <Badge tone="amber">Off</Badge>}
        </span>
      }
      description="A code from your phone at each login, so a stolen password alone is not enough."
    >
      {typeof mode === 'object' ? (
        <BackupCodes codes={mode.codes} email={me.email} onDone={() => setMode('idle')} />
      ) : mode === 'setup' ? (
        <SetupFlow
          onCancel={() => setMode('idle')}
          onEnabled={async (codes) => {
            toast.success('Two-factor authentication is on.');
            setMode({ codes });
            // Enrolment-only tokens (org policy) become full ones at the next refresh.
            if (me.mfa_enrollment_required) await refreshSession();
            void session.reload();
          }}
        />
      ) : on ? (
        <div className="flex flex-wrap gap-2">
          <Button variant="secondary" onClick={() => setMode('regenerate')}>
            Regenerate backup codes
          </Button>
          <Button variant="danger" onClick={() => setMode('disable')}>
            Turn off two-factor authentication
          </Button>
        </div>
      ) : (
        <Button onClick={() => setMode('setup')}>Set up two-factor authentication</Button>
      )}
      {mode === 'regenerate' && (
        <RegenerateDialog
          onClose={() => setMode('idle')}
          onCodes={(codes) => {
            toast.success('New backup codes generated. The old ones no longer work.');
            setMode({ codes });
          }}
        />
      )}
      {mode === 'disable' && (
        <DisableDialog
          onClose={() => setMode('idle')}
          onDisabled={() => {
            setMode('idle');
            toast.success('Two-factor authentication is off.');
            void session.reload();
          }}
        />
      )}
    </Card>
  );
}
