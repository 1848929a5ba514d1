// Ask for a reset link. The answer is the same whether the email has an account or not.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { AuthForm, AuthLayout, BackToLogin } from '../../components/AuthLayout.tsx';
import { EmailField } from '../../components/Field.tsx';
import { api } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const form = useFormAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await form.run(async () => {
      await api.post('/api/auth/password/forgot', { body: { email }, noRefresh: true });
      return true;
    });
    if (ok) setSent(true);
  }

  return (
    <AuthLayout
      title="Reset your password"
      subtitle="We will email you a link to choose a new password."
      footer={<BackToLogin />}
    >
      {sent ? (
        <Alert tone="success" title="Check your email">
          If an account exists for <strong>{email}</strong>, a reset link is on its way. The link
          works once and expires after 30 minutes.
        </Alert>
      ) : (
        <AuthForm onSubmit={submit} form={form} submit="Send reset link">
          <EmailField
            autoComplete="email"
            value={email}
            onChange={setEmail}
            error={form.fieldErrors.email}
          />
        </AuthForm>
      )}
    </AuthLayout>
  );
}
