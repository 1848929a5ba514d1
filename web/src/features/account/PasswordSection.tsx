// Change password: the current one proves it is you; every other session ends.
import type { FormEvent } from 'react';
import { FormCard } from '../../components/Card.tsx';
import {
  CurrentPasswordField,
  NewPasswordTwiceFields,
  useNewPassword,
} from '../../components/PasswordFields.tsx';
import { api } from '../../lib/api.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

export function PasswordSection({ onChanged }: { onChanged: () => void }) {
  const { me } = useSession();
  const toast = useToast();
  const next = useNewPassword();
  const form = useFormAction();
  const current = useFormField(form, 'current_password');

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!next.matches()) return;
    const ok = await form.run(async () => {
      await api.post('/api/auth/password/change', {
        body: { current_password: current.value, new_password: next.password },
      });
      return true;
    });
    if (!ok) return;
    current.setValue('');
    next.clear();
    toast.success('Password changed. Your other sessions were logged out.');
    onChanged();
  }

  return (
    <FormCard
      id="password"
      title="Password"
      description="Changing it logs you out on every other device."
      form={form}
      onSubmit={submit}
      submit="Change password"
      className="max-w-md space-y-4"
    >
      <CurrentPasswordField label="Current password" name="current_password" {...current.field} />
      <NewPasswordTwiceFields
        next={next}
        error={form.fieldErrors.new_password}
        email={me?.email}
        personName={me?.full_name ?? undefined}
      />
    </FormCard>
  );
}
