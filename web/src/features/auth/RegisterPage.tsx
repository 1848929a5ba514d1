// Sign up: a company (the user becomes its owner) or a personal workspace.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import {
  AuthForm,
  AuthLayout,
  FullNameField,
  fullNameBody,
  linkClass,
} from '../../components/AuthLayout.tsx';
import { EmailField, TextField } from '../../components/Field.tsx';
import { NewPasswordField } from '../../components/PasswordFields.tsx';
import { ApiError, api } from '../../lib/api.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { Link, useNavigate } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

type Kind = 'company' | 'personal';

export function RegisterPage() {
  const session = useSession();
  const navigate = useNavigate();
  const toast = useToast();
  const [kind, setKind] = useState<Kind>('company');
  const [email, setEmail] = useState('');
  const [emailTaken, setEmailTaken] = useState(false);
  const [companyError, setCompanyError] = useState<string | null>(null);
  /** Set when the server requires a verified address before the first log-in. */
  const [pendingEmail, setPendingEmail] = useState<string | null>(null);

  const form = useFormAction({
    onError: (err) => {
      // Shown next to the email field rather than as a banner.
      const taken = err instanceof ApiError && err.code === 'email_taken';
      setEmailTaken(taken);
      return taken ? null : undefined;
    },
  });
  const fullName = useFormField(form, 'full_name');
  const password = useFormField(form, 'password');
  const company = useFormField(form, 'company_name');

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = {
      email,
      password: password.value,
      ...fullNameBody(fullName.value),
      ...(kind === 'company' ? { company_name: company.value.trim() } : {}),
    };
    if (kind === 'company' && !company.value.trim()) {
      setCompanyError('Enter your company name, or choose a personal workspace.');
      return;
    }
    setCompanyError(null);
    const r = await form.run(() => api.post('/api/auth/register', { body, noRefresh: true }));
    if (!r) return;
    if ('email_verification_required' in r) {
      setPendingEmail(r.user.email);
      return;
    }
    await session.signedIn(r);
    toast.success(`Welcome to Switchboard, ${r.user.full_name ?? r.user.email}!`);
    navigate('/app', { replace: true });
  }

  if (pendingEmail) {
    return (
      <AuthLayout title="Check your inbox">
        <Alert tone="success" title="Your account is created">
          We sent a link to {pendingEmail}. Follow it to confirm your address, then log in.
        </Alert>
        <p className="mt-6 text-center text-sm text-slate-600">
          <Link to="/login" className={linkClass}>
            Go to log in
          </Link>
        </p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout
      title="Create your Switchboard account"
      subtitle="Start a workspace for your company or just for yourself."
      footer={
        <>
          Already have an account?{' '}
          <Link to="/login" className={linkClass}>
            Log in
          </Link>
        </>
      }
    >
      <AuthForm onSubmit={submit} form={form} submit="Create account">
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Workspace type</legend>
          <div className="mt-2 grid grid-cols-2 gap-2">
            {(
              [
                ['company', 'Company', 'For a team'],
                ['personal', 'Personal', 'Just for you'],
              ] as const
            ).map(([value, label, hint]) => (
              <label
                key={value}
                className={`flex cursor-pointer flex-col rounded-lg px-3 py-2.5 text-sm ring-1 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-indigo-600 ${kind === value ? 'bg-indigo-50 ring-2 ring-indigo-600' : 'ring-slate-300 hover:bg-slate-50'}`}
              >
                <span className="flex items-center gap-2 font-medium text-slate-900">
                  <input
                    type="radio"
                    name="kind"
                    value={value}
                    checked={kind === value}
                    onChange={() => setKind(value)}
                    className="accent-indigo-600"
                  />
                  {label}
                </span>
                <span className="ml-6 text-xs text-slate-600">{hint}</span>
              </label>
            ))}
          </div>
        </fieldset>
        {kind === 'company' && (
          <TextField
            label="Company name"
            autoComplete="organization"
            required
            {...company.input}
            error={companyError ?? company.input.error}
          />
        )}
        <FullNameField {...fullName.field} />
        <EmailField
          label="Work email"
          autoComplete="email"
          value={email}
          onChange={(value) => {
            setEmail(value);
            setEmailTaken(false);
          }}
          error={
            emailTaken
              ? 'An account with this email already exists. Log in instead, or reset your password.'
              : form.fieldErrors.email
          }
        />
        <NewPasswordField
          label="Password"
          name="password"
          {...password.field}
          email={email}
          personName={fullName.value}
        />
      </AuthForm>
    </AuthLayout>
  );
}
