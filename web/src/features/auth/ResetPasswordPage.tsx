// The page behind the reset link in the mail: choose a new password. Every session ends.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { AuthForm, AuthLayout, BackToLogin, linkClass } from '../../components/AuthLayout.tsx';
import { NewPasswordTwiceFields, useNewPassword } from '../../components/PasswordFields.tsx';
import { ApiError, api } from '../../lib/api.ts';
import { useFormAction } from '../../lib/forms.ts';
import { useLinkToken } from '../../lib/link-token.ts';
import { Link, useNavigate } from '../../lib/router.tsx';
import { useToast } from '../../lib/toast.tsx';

export function ResetPasswordPage() {
  const token = useLinkToken();
  const navigate = useNavigate();
  const toast = useToast();
  const next = useNewPassword();
  const [dead, setDead] = useState(!token);
  const form = useFormAction({
    onError: (err) => {
      if (err instanceof ApiError && err.code === 'invalid_token') {
        setDead(true);
        return null;
      }
      return undefined;
    },
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!next.matches()) return;
    const ok = await form.run(async () => {
      await api.post('/api/auth/password/reset', {
        body: { token: token ?? '', new_password: next.password },
        noRefresh: true,
      });
      return true;
    });
    if (ok) {
      toast.success('Your password was changed. Log in with the new one.');
      navigate('/login', { replace: true });
    }
  }

  return (
    <AuthLayout
      title="Choose a new password"
      subtitle="You will be logged out everywhere and can log in with the new password."
      footer={<BackToLogin />}
    >
      {dead ? (
        <Alert
          tone="error"
          title="This reset link is not valid"
          action={
            <Link to="/forgot-password" className={linkClass}>
              Get a new link
            </Link>
          }
        >
          It may have expired or been used already.
        </Alert>
      ) : (
        <AuthForm onSubmit={submit} form={form} submit="Set new password">
          <NewPasswordTwiceFields next={next} error={form.fieldErrors.new_password} />
        </AuthForm>
      )}
    </AuthLayout>
  );
}
