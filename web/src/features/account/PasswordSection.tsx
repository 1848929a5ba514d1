// Change password: the current one proves it is you; every other session ends.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card } from '../../components/Card.tsx';
import { TextField } from '../../components/Field.tsx';
import { PasswordRules } from '../../components/PasswordRules.tsx';
import { api } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

export function PasswordSection({ onChanged }: { onChanged: () => void }) {
  const { me } = useSession();
  const toast = useToast();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const form = useFormAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    const ok = await form.run(async () => {
      await api.post('/api/auth/password/change', {
        body: { current_password: current, new_password: next },
      });
      return true;
    });
    if (!ok) return;
    setCurrent('');
    setNext('');
    setConfirm('');
    toast.success('Password changed. Your other sessions were logged out.');
    onChanged();
  }

  return (
    <form noValidate onSubmit={submit}>
      <Card
        id="password"
        title="Password"
        description="Changing it logs you out on every other device."
        footer={
          <Button type="submit" loading={form.busy}>
            Change password
          </Button>
        }
      >
        <div className="max-w-md space-y-4">
          {form.formError && <Alert tone="error">{form.formError}</Alert>}
          <TextField
            label="Current password"
            type="password"
            name="current_password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            error={form.fieldErrors.current_password}
          />
          <TextField
            label="New password"
            type="password"
            name="new_password"
            autoComplete="new-password"
            required
            value={next}
            onChange={(e) => setNext(e.target.value)}
            error={form.fieldErrors.new_password}
            hint={
              <PasswordRules password={next} email={me?.email} name={me?.full_name ?? undefined} />
            }
          />
          <TextField
            label="Confirm new password"
            type="password"
            name="confirm_password"
            autoComplete="new-password"
            required
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            error={mismatch ? 'The two passwords are not the same.' : null}
          />
        </div>
      </Card>
    </form>
  );
}
