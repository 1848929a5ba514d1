// The page behind the invitation link: a new person creates their account and joins; someone
// who already has a verified account logs in (as the invited email) and accepts, or enters that
// account's password (and MFA code) here: the one way back for an account that belongs to no org
// any more, which cannot log in. An account whose
// address was never verified is claimed by the link itself: the accepter chooses a new password
// (the server then signs out every session of the account, so a pre-claimed account's holder is
// locked out), whether or not this browser holds a session.
import { type FormEvent, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import {
  AuthForm,
  AuthLayout,
  FullNameField,
  fullNameBody,
  linkClass,
} from '../../components/AuthLayout.tsx';
import { TextField } from '../../components/Field.tsx';
import { CurrentPasswordField, NewPasswordField } from '../../components/PasswordFields.tsx';
import { ApiError, api } from '../../lib/api.ts';
import { useFormAction, useFormField } from '../../lib/forms.ts';
import { useLinkToken } from '../../lib/link-token.ts';
import { Link, useNavigate } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

const DEAD_LINK: Record<string, string> = {
  invitation_used: 'This invitation was already accepted.',
  invitation_expired: 'This invitation has expired. Ask for a new one.',
  invitation_revoked: 'This invitation was revoked.',
  invitation_authority_lost:
    'Whoever sent this invitation can no longer grant its role. Ask for a new one.',
  invalid_token: 'This invitation link is not valid.',
};

export function AcceptInvitePage() {
  const token = useLinkToken();
  const session = useSession();
  const navigate = useNavigate();
  const toast = useToast();
  const [dead, setDead] = useState<string | null>(token ? null : DEAD_LINK.invalid_token!);
  const [needsLogin, setNeedsLogin] = useState(false);
  // A session alone does not accept into an unverified account: the server asks for a password.
  const [needsPassword, setNeedsPassword] = useState(false);
  // The account's own password was right and it has MFA: the server asks for a code too.
  const [needsCode, setNeedsCode] = useState(false);

  const form = useFormAction({
    onError: (err) => {
      if (!(err instanceof ApiError)) return undefined;
      const deadMessage = DEAD_LINK[err.code];
      if (deadMessage) {
        setDead(deadMessage);
        return null;
      }
      const anonymous = session.status !== 'authenticated';
      if (err.code === 'email_taken' || (anonymous && err.code === 'invitation_wrong_account')) {
        const again = needsLogin;
        setNeedsLogin(true);
        // What was typed was meant as a new password: the account's own is asked for now.
        if (!again) password.setValue('');
        return again
          ? "That is not the password of the invited address's account. Try again, or log in as that address."
          : "The invited address already has an account. Enter that account's password to accept, or log in as that address.";
      }
      if (err.code === 'validation_failed' && err.fields?.code) {
        // The account's own password was right (typed in either form): its code comes next.
        setNeedsLogin(true);
        setNeedsCode(true);
        return 'This account uses two-factor authentication: enter a code from your authenticator app, or one of your backup codes.';
      }
      if (err.code === 'mfa_code_reused') {
        return 'That code was already used. Wait for your app to show the next one, then enter it.';
      }
      if (err.code === 'invalid_mfa') {
        return 'That code is not right. Try the newest code from your app, or a backup code.';
      }
      if (err.code === 'invitation_wrong_account') {
        return `You are logged in as ${session.me?.email ?? 'another user'}, but this invitation is for a different address. Log out, then open the link again.`;
      }
      if (err.code === 'validation_failed' && err.fields?.password && !needsPassword) {
        setNeedsPassword(true);
        return 'Choose a password to confirm this address is yours.';
      }
      if (err.code === 'already_member') {
        return 'You are already a member of this organization.';
      }
      return undefined;
    },
  });
  const fullName = useFormField(form, 'full_name');
  const password = useFormField(form, 'password');
  const code = useFormField(form, 'code');

  // Back here after logging in, with the token kept in the return address.
  const loginHref = `/login?next=${encodeURIComponent(`/accept-invite?token=${token ?? ''}`)}`;

  async function accept(e: FormEvent) {
    e.preventDefault();
    const anonymous = session.status !== 'authenticated';
    const body =
      anonymous || needsPassword
        ? {
            token: token ?? '',
            password: password.value,
            ...(needsLogin ? {} : fullNameBody(fullName.value)),
            ...(needsCode && code.value.trim() ? { code: code.value.replace(/\s+/g, '') } : {}),
          }
        : { token: token ?? '' };
    const r = await form.run(() =>
      api.post('/api/invitations/accept', { body, noRefresh: anonymous }),
    );
    if (!r) return;
    const me =
      r && typeof r === 'object' && 'expires_in' in r && typeof r.expires_in === 'number'
        ? await session.signedIn({ expires_in: r.expires_in })
        : await session.reload();
    toast.success(`Welcome to ${me?.org.name ?? 'the team'}!`);
    navigate('/app', { replace: true });
  }

  if (dead) {
    return (
      <AuthLayout title="Join your team">
        <Alert
          tone="error"
          title="This invitation cannot be used"
          action={
            <Link to="/" className={linkClass}>
              Go home
            </Link>
          }
        >
          {dead}
        </Alert>
      </AuthLayout>
    );
  }

  if (session.status === 'authenticated' && session.me) {
    return (
      <AuthLayout title="Join your team" subtitle={`You are logged in as ${session.me.email}.`}>
        <AuthForm onSubmit={accept} form={form} submit="Accept invitation">
          <p className="text-sm text-slate-600">
            Accept the invitation to add the organization to your account. You can switch between
            your organizations at any time.
          </p>
          {needsPassword && (
            <>
              <p className="text-sm text-slate-600">
                This address has not been confirmed yet. Opening the invitation link confirms it:
                choose a new password. Every session open on this account, this one included, is
                signed out, and two-factor authentication and API keys set up before are removed.
              </p>
              <NewPasswordField
                label="New password"
                name="password"
                {...password.field}
                personName={fullName.value}
              />
            </>
          )}
        </AuthForm>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout
      title="Join your team on Switchboard"
      subtitle={
        needsLogin
          ? 'This address already has an account: prove it is yours to accept the invitation.'
          : 'Create your account to accept the invitation.'
      }
      footer={
        <>
          Already have an account?{' '}
          <Link to={loginHref} className={linkClass}>
            Log in to accept
          </Link>
        </>
      }
    >
      <AuthForm
        onSubmit={accept}
        form={form}
        errorAction={
          needsLogin ? (
            <Link to={loginHref} className={linkClass}>
              Log in
            </Link>
          ) : undefined
        }
        submit={needsLogin ? 'Accept invitation' : 'Create account and join'}
      >
        {needsLogin ? (
          <>
            <CurrentPasswordField label="Password of your account" {...password.field} />
            {needsCode && (
              <TextField
                {...code.input}
                label="Authentication code"
                hint="A 6-digit code from your authenticator app, or one of your backup codes"
                autoComplete="one-time-code"
                spellCheck={false}
              />
            )}
          </>
        ) : (
          <>
            <FullNameField {...fullName.field} />
            <NewPasswordField
              label="Password"
              name="password"
              {...password.field}
              personName={fullName.value}
            />
          </>
        )}
      </AuthForm>
    </AuthLayout>
  );
}
