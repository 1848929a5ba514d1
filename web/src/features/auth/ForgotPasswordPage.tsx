// Ask for a reset link. The answer is the same whether the email has an account or not.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { AuthForm, AuthLayout, BackToLogin } from '../../components/AuthLayout.tsx';
import { EmailField } from '../../components/Field.tsx';
import { api } from '../../lib/api.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';

export function ForgotPasswordPage() {
  const [sent, setSent] = useState(false);
  const form = useFormAction();
  const email = useFormField(form, 'email');

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await form.run(async () => {
      await api.post('/api/auth/password/forgot', {
        body: { email: email.value },
        noRefresh: true,
      });
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
          If an account exists for <strong>{email.value}</strong>, a reset link is on its way. The
          link works once and expires after 30 minutes.
        </Alert>
      ) : (
        <AuthForm onSubmit={submit} form={form} submit="Send reset link">
          <EmailField autoComplete="email" {...email.field} />
        </AuthForm>
      )}
    </AuthLayout>
  );
}
